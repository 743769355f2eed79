// Hugging Face config.json <-> ModelShape.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "chronoscale/shape.h"

namespace chronoscale {

// Reads the architecture fields of a Hugging Face config: hidden_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads, intermediate_size, vocab_size,
// max_position_embeddings (GPT-2 style n_embd, n_layer, n_head, n_inner, n_positions too), and
// infers the variants: SwiGLU and RMSNorm for Llama-family model types (or hidden_act "silu" with
// rms_norm_eps), rotary positions, tied embeddings (tie_word_embeddings, HF's default true),
// biases (attention_bias / mlp_bias). seq_len is max_position_embeddings; batch stays the
// reference 8. `where` names the file in messages. The result is validated.
ModelShape ShapeFromHfConfig(const nlohmann::json& config, const std::string& where);
ModelShape LoadHfConfig(const std::string& path);

// A config.json for `shape` (Llama-style keys for SwiGLU/RMSNorm shapes, GPT-2 style keys
// otherwise, plus the generic hidden_size/num_hidden_layers names).
nlohmann::json HfConfigFromShape(const ModelShape& shape);

}  // namespace chronoscale
