// Hugging Face config.json <-> ModelShape.
//
// Import reads a decoder-only causal LM's config the way its transformers config class builds the
// model: per-model_type defaults (tying, biases, activation, norm, block layout), grouped and
// multi-query attention, head_dim independent of hidden_size, sliding windows, parallel blocks,
// partial rotary, mixture of experts (Mixtral, Qwen-MoE, DeepSeek-MoE and DBRX keys), learned
// position tables (OPT's offset of 2). Encoder-decoder, encoder-only, vision and audio configs are
// refused (InputError naming the model_type or the field that shows it). Every value it sets is
// listed with where it came from.
//
// Export writes the config of the model_type whose class builds exactly the shape, or refuses
// (InputError) a shape no supported class builds.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chronoscale/shape.h"

namespace chronoscale {

// One value of an imported shape and its origin: "key 'hidden_size'" or "default: ...".
struct HfField {
  std::string field;  // the shape's field (the shapes-CSV column name)
  std::string value;
  std::string source;
};

struct HfImport {
  ModelShape shape;
  std::string model_type;     // as the config spells it ("" when absent)
  int64_t context_limit = 0;  // max_position_embeddings (or its alias); 0 when absent
  std::vector<HfField> fields;
  std::vector<std::string> warnings;  // keys that change the architecture but are not modelled
};

// The sequence length an import uses: kHfDefaultSeq, or the context limit when that is shorter.
// --seq overrides it; max_position_embeddings is the model's limit, not a training length.
inline constexpr int64_t kHfDefaultSeq = 1024;

// Reads a config (already parsed). `where` names the file in messages. The shape is validated.
HfImport ImportHfConfig(const nlohmann::json& config, const std::string& where);
HfImport LoadHfConfig(const std::string& path);
inline ModelShape ShapeFromHfConfig(const nlohmann::json& config, const std::string& where) {
  return ImportHfConfig(config, where).shape;
}

// A config.json that builds `shape` under its model_type's class (llama, mistral, qwen2,
// mixtral, qwen2_moe, gpt2, gpt_bigcode, gpt_neox, gptj, phi, falcon, starcoder2); InputError
// naming the variants when none does.
nlohmann::json HfConfigFromShape(const ModelShape& shape);

}  // namespace chronoscale
