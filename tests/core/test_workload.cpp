// Hand-counted known answers for the Workload accounting (SCIENCE.md section 1). Every expected
// number below is worked out from the op descriptions, not from the implementation.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/time_fit.h>
#include <chronoscale/workload.h>

using namespace chronoscale;

namespace {

const Op& Find(const Workload& wl, const std::string& name, Phase phase = Phase::kForward) {
  for (const Op& op : wl.ops) {
    if (name == op.name && op.phase == phase) return op;
  }
  FAIL("no op " << name);
  return wl.ops.front();
}

// Reference-style GPT: d 128, 2 layers, 2 heads (size 64), d_ff 512, vocab 1000, seq 16,
// batch 4 (T = 64 tokens), bf16 autocast, learned positions, biases, LayerNorm, flash, causal.
ModelShape Small() {
  ModelShape s;
  s.d_model = 128;
  s.n_layers = 2;
  s.n_heads = 2;
  s.d_ff = 512;
  s.vocab = 1000;
  s.seq_len = 16;
  s.batch = 4;
  return s;
}

}  // namespace

TEST_CASE("Workload of a small reference GPT, op by op") {
  const Workload wl = BuildWorkload(Small());
  // Parameters: tok 1000*128 + pos 16*128 + 2 layers * (2 LN of 256 + qkv 128*384+384 +
  // proj 128*128+128 + fc 128*512+512 + out 512*128+128) + final LN 256 + head 1000*128.
  const double layer = 512 + (49152 + 384) + (16384 + 128) + (65536 + 512) + (65536 + 128);
  REQUIRE(layer == 198272);
  const double P = 128000 + 2048 + 2 * layer + 256 + 128000;
  REQUIRE(wl.shape.Params() == P);

  const Op& qkv = Find(wl, "qkv");
  CHECK(qkv.count == 2);
  CHECK(qkv.flops == 2.0 * 64 * 128 * 384);
  CHECK(qkv.bytes_read == 64 * 128 * 2 + 128 * 384 * 2 + 384 * 2);  // bf16 input, weight, bias
  CHECK(qkv.bytes_written == 64 * 384 * 2);
  CHECK(qkv.launches == 1);

  const Op& att = Find(wl, "attention");
  CHECK(att.flops == 4.0 * 4 * 16 * 16 * 128 / 2);  // 4 b s^2 d, halved by the causal mask
  CHECK(att.exps == 4.0 * 2 * 16 * 16 / 2);
  CHECK(att.bytes_read == 64 * 384 * 2);                  // Q, K, V
  CHECK(att.bytes_written == 64 * 128 * 2 + 64 * 2 * 4);  // O and fp32 log-sum-exp
  const Op& att_bwd = Find(wl, "attention_bwd", Phase::kBackward);
  CHECK(att_bwd.flops == 2.5 * att.flops);

  const Op& norm = Find(wl, "norm1");  // fp32 residual in and out, fp32 weight and bias read
  CHECK(norm.bytes_read == 64 * 128 * 4 + 2 * 128 * 4);
  CHECK(norm.bytes_written == 64 * 128 * 4 + 64 * 8);
  const Op& casts = Find(wl, "weight_casts");  // fp32 -> bf16 of every linear weight and bias
  CHECK(casts.bytes_read == (196608 + 1152) * 4);
  CHECK(casts.bytes_written == (196608 + 1152) * 2);
  CHECK(casts.launches == 8);

  const Op& head = Find(wl, "lm_head");
  CHECK(head.flops == 2.0 * 64 * 128 * 1000);
  CHECK(head.bytes_read == 64 * 128 * 2 + 1000 * 128 * 2);
  CHECK(head.bytes_written == 64 * 1000 * 2);
  const Op& up = Find(wl, "logits_fp32");
  CHECK(up.bytes_read == 64 * 1000 * 2);
  CHECK(up.bytes_written == 64 * 1000 * 4);
  const Op& ce = Find(wl, "cross_entropy");
  CHECK(ce.bytes_read == 64 * 1000 * 4 + 64 * 8);
  CHECK(ce.bytes_written == 64 * 1000 * 4 + 64 * 4);
  CHECK(ce.exps == 64 * 1000);

  const Op& adam = Find(wl, "adamw", Phase::kOptimizer);
  CHECK(adam.bytes_read == 16 * P);     // param, grad, m, v in fp32
  CHECK(adam.bytes_written == 12 * P);  // param, m, v
  CHECK(adam.launches == 29);  // 2 x (8 linear + 4 norm tensors) + final norm 2 + tok, pos, head

  // Every matmul weight is used three times (forward, grad input, grad weight): 6 T W FLOPs.
  const double W = 2 * (49152 + 16384 + 65536 + 65536) + 128000;
  CHECK(wl.by_kind[static_cast<int>(OpKind::kMatmul)].flops == 6.0 * 64 * W);
  // Per-layer totals are one layer's ops.
  CHECK(wl.per_layer.flops * 2 <= wl.total.flops);
  double sum = 0;
  for (const auto& t : wl.by_phase) sum += t.Bytes();
  CHECK(sum == Approx(wl.total.Bytes()).epsilon(1e-12));
}

TEST_CASE("Workload of a Llama-style variant: SwiGLU, RMSNorm, GQA, rotary, tied, no bias") {
  ModelShape s = Small();
  s.mlp = MlpKind::kSwiGlu;
  s.norm = NormKind::kRmsNorm;
  s.n_kv_heads = 1;  // kv width 64
  s.positions = PositionKind::kRotary;
  s.tied_embeddings = true;
  s.bias = false;
  const Workload wl = BuildWorkload(s);
  const Op& qkv = Find(wl, "qkv");
  CHECK(qkv.flops == 2.0 * 64 * 128 * (128 + 2 * 64));
  const Op& up = Find(wl, "mlp_up");
  CHECK(up.count == 4);  // gate and up, 2 layers
  CHECK(up.flops == 2.0 * 64 * 128 * 512);
  for (const Op& op : wl.ops) CHECK(std::string(op.name) != "bias_grads");
  const Op& adam = Find(wl, "adamw", Phase::kOptimizer);
  CHECK(adam.launches ==
        2 * (5 + 2) + 1 + 1);  // 5 linear weights + 2 norms per layer, final norm, tok
  // Weights: per layer q 128*128, k and v 128*64 each, o 128*128, gate/up/down 3*128*512.
  const double W = 2 * (16384 + 2 * 8192 + 16384 + 3 * 65536) + 1000 * 128;
  CHECK(wl.by_kind[static_cast<int>(OpKind::kMatmul)].flops == 6.0 * 64 * W);
}

TEST_CASE("Activation checkpointing recomputes each layer's forward") {
  ModelShape s = Small();
  const Workload plain = BuildWorkload(s);
  s.checkpointing = Checkpointing::kFull;
  const Workload ckpt = BuildWorkload(s);
  const double layer_matmul_fwd = 2.0 * 64 * (49152 + 16384 + 65536 + 65536);
  CHECK(ckpt.by_kind[0].flops - plain.by_kind[0].flops == Approx(2 * layer_matmul_fwd));
}

TEST_CASE("Naive attention moves the s x s scores; flash does not") {
  ModelShape s = Small();
  s.seq_len = 512;
  s.attention = AttentionKind::kNaive;
  const double naive = Find(BuildWorkload(s), "attention").Bytes();
  s.attention = AttentionKind::kFlash;
  const double flash = Find(BuildWorkload(s), "attention").Bytes();
  const double S = 4.0 * 2 * 512 * 512;  // batch x heads x s^2
  CHECK(naive - flash > 10 * S);         // several bf16/fp32 passes over the scores
  s.seq_len = 1024;
  CHECK(Find(BuildWorkload(s), "attention").Bytes() == Approx(2 * flash));  // linear in s
}

TEST_CASE("FAVOR+ attention costs ~8 s m d_h FLOPs and 2 s m exps per head") {
  const auto ops = AttentionKernelOps("favor", 1, 16, 4096, 64, 256, false, Precision::kBf16);
  REQUIRE(ops.size() == 1);
  const double sm = 16.0 * 4096 * 256;
  CHECK(ops[0].flops == Approx(8 * sm * 64).epsilon(0.02));
  CHECK(ops[0].exps == 2 * sm);
  const auto dark = AttentionKernelOps("dark", 1, 16, 4096, 64, 256, false, Precision::kBf16);
  CHECK(dark[0].flops > ops[0].flops);
  CHECK_THROWS_AS(AttentionKernelOps("nope", 1, 1, 8, 8, 8, false, Precision::kBf16), InputError);
}

TEST_CASE("Memory estimate tracks PyTorch's measured peak on the H200 steps within 10%") {
  const RunsFile file = ReadStepRuns(std::string(CHRONOSCALE_TEST_DATA) + "/steps.csv");
  const CsvTable t = ReadCsv(std::string(CHRONOSCALE_TEST_DATA) + "/steps.csv");
  const int col = t.RequireColumn("peak_mem_gb");
  std::vector<double> errors;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const ModelShape s = ShapeFromRow(t, r);
    const double measured = t.Number(r, col) * 1073741824.0;
    const double err = EstimateMemory(s).Total() / measured - 1;
    INFO(Describe(s) << " error " << err);
    CHECK(std::abs(err) < 0.10);
    errors.push_back(err);
  }
  CHECK(AbsStats(errors).median < 0.03);
}

TEST_CASE("Invalid shapes are rejected before any accounting") {
  ModelShape s = Small();
  s.n_heads = 3;
  CHECK_THROWS_AS(BuildWorkload(s), InputError);
  s = Small();
  s.seq_len = 0;
  CHECK_THROWS_WITH(BuildWorkload(s), Catch::Contains("seq_len"));
}

TEST_CASE("Variants of real models, op by op: head_dim, window, parallel block, MoE") {
  // head_dim independent of d_model: q width 4 x 48 = 192, kv width 1 x 48 (MQA)
  ModelShape s = Small();
  s.n_heads = 4;
  s.n_kv_heads = 1;
  s.head_dim = 48;
  Workload wl = BuildWorkload(s);
  const double T = 64, d = 128, q = 192, kv = 48;
  CHECK(Find(wl, "qkv").flops == 2 * T * d * (q + 2 * kv));
  CHECK(Find(wl, "attn_out").flops == 2 * T * q * d);
  CHECK(Find(wl, "attention").flops == 4 * 4 * 16 * 16 * q * 0.5);  // 4 b s^2 q, causal half
  // parameters: q, k, v, out with their biases, per layer
  const double attn = d * q + 2 * d * kv + q * d + (q + 2 * kv) + d;
  const double mlp = 2 * d * 512 + 512 + d;
  CHECK(s.LayerParams() == attn + mlp + 2 * 2 * d);

  // Sliding window 4 of seq 16, causal: each query sees min(i + 1, 4) keys; the model counts the
  // band as w s - w^2 / 2 = 56 of the 256 score pairs (the exact count is 58).
  s = Small();
  s.sliding_window = 4;
  wl = BuildWorkload(s);
  CHECK(Find(wl, "attention").flops == Approx(4 * 4 * d * (4.0 * 16 - 8)));
  s.sliding_window = 64;  // wider than the sequence: no change
  CHECK(Find(BuildWorkload(s), "attention").flops == 4 * 4 * 16 * 16 * d * 0.5);

  // Parallel block with one shared norm: one norm and one residual add per layer.
  s = Small();
  s.block = BlockKind::kParallel;
  wl = BuildWorkload(s);
  int norms = 0, residuals = 0;
  for (const Op& op : wl.ops) {
    if (op.phase != Phase::kForward || !op.per_layer) continue;
    norms += op.kind == OpKind::kNorm ? 1 : 0;
    residuals += std::string(op.name).rfind("residual", 0) == 0 ? 1 : 0;
  }
  CHECK(norms == 1);
  CHECK(residuals == 1);
  CHECK(Find(wl, "residual").flops == 2 * T * d);           // x + attn + mlp
  CHECK(s.LayerParams() == Small().LayerParams() - 2 * d);  // one LayerNorm (weight + bias) less

  // MoE: 8 experts of width 512, top 2, every layer; the experts see 2 T token copies, read
  // every expert's weights, and the router is a d x 8 GEMM.
  s = Small();
  s.experts = 8;
  s.experts_per_token = 2;
  wl = BuildWorkload(s);
  CHECK(Find(wl, "router").flops == 2 * T * d * 8);
  CHECK(Find(wl, "expert_up").flops == 2 * (2 * T) * d * 512);
  CHECK(Find(wl, "expert_up").bytes_read == (2 * T) * d * 2 + 8 * d * 512 * 2);
  CHECK(Find(wl, "expert_down").flops == 2 * (2 * T) * 512 * d);
  CHECK(Find(wl, "expert_down_bwd", Phase::kBackward).flops == 4 * (2 * T) * 512 * d);
  CHECK(Find(wl, "expert_up").count == 2);  // per layer, two layers
  const double expert = 2 * d * 512 + 512 + d;
  CHECK(s.LayerParams() == Small().LayerParams() - mlp + d * 8 + 8 * expert);
  CHECK(s.ActiveParams() == s.Params() - 2 * 6 * expert);  // 6 of 8 experts idle per layer
  // Leading dense layers: layer 1 dense (width 256), layer 2 MoE.
  s.dense_layers = 1;
  s.dense_ff = 256;
  wl = BuildWorkload(s);
  CHECK(Find(wl, "mlp_up").count == 1);
  CHECK(Find(wl, "mlp_up").flops == 2 * T * d * 256);
  CHECK(Find(wl, "expert_up").count == 1);
  s.dense_ff = 0;
  CHECK_THROWS_AS(s.Validate(), InputError);
}
