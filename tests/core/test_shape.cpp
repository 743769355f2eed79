#include <catch2/catch.hpp>
#include <cmath>

#include <chronoscale/error.h>
#include <chronoscale/io.h>
#include <chronoscale/shape.h>

using namespace chronoscale;

TEST_CASE("Parameter counts match PyTorch's numel() for every shape in steps.csv") {
  const CsvTable t = ReadCsv(std::string(CHRONOSCALE_TEST_DATA) + "/steps.csv");
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    ModelShape s;
    s.d_model = t.Integer(r, t.RequireColumn("d_model"), 1, 1 << 20);
    s.n_layers = t.Integer(r, t.RequireColumn("n_layers"), 1, 1000);
    s.n_heads = t.Integer(r, t.RequireColumn("n_heads"), 1, 1 << 20);
    s.d_ff = t.Integer(r, t.RequireColumn("d_ff"), 1, 1 << 22);
    s.seq_len = t.Integer(r, t.RequireColumn("seq_len"), 1, 1 << 24);
    s.batch = t.Integer(r, t.RequireColumn("batch"), 1, 1 << 24);
    s.vocab = t.Integer(r, t.RequireColumn("vocab"), 1, 1 << 27);
    INFO(Describe(s));
    CHECK(s.Params() == t.Number(r, t.RequireColumn("params")));
  }
}

TEST_CASE("Hand-counted parameters for the variants") {
  // Llama-style: d 64, 2 layers, 4 heads of 16, 2 kv heads, SwiGLU ff 128, RMSNorm, no bias,
  // rotary positions, tied embeddings, vocab 100.
  ModelShape s;
  s.d_model = 64;
  s.n_layers = 2;
  s.n_heads = 4;
  s.n_kv_heads = 2;
  s.d_ff = 128;
  s.vocab = 100;
  s.seq_len = 32;
  s.mlp = MlpKind::kSwiGlu;
  s.norm = NormKind::kRmsNorm;
  s.bias = false;
  s.positions = PositionKind::kRotary;
  s.tied_embeddings = true;
  s.Validate();
  // per layer: 2 norms 2*64; q 64*64, k,v 64*32 each, o 64*64; gate, up 64*128, down 128*64
  const double layer = 2 * 64 + (4096 + 2 * 2048 + 4096) + 3 * 8192;
  CHECK(s.LayerParams() == layer);
  CHECK(s.NonEmbeddingParams() == 2 * layer + 64);
  CHECK(s.Params() == 2 * layer + 64 + 100 * 64);
}

TEST_CASE("Validation names the bad field") {
  ModelShape s = ReferenceShape(1024, 8);
  s.Validate();
  ModelShape bad = s;
  bad.d_model = -5;
  CHECK_THROWS_WITH(bad.Validate(), Catch::Contains("d_model") && Catch::Contains("-5"));
  bad = s;
  bad.n_layers = 0;
  CHECK_THROWS_WITH(bad.Validate(), Catch::Contains("n_layers"));
  bad = s;
  bad.n_heads = 7;
  CHECK_THROWS_WITH(bad.Validate(), Catch::Contains("does not divide"));
  bad = s;
  bad.d_model = int64_t{1} << 40;
  CHECK_THROWS_AS(bad.Validate(), InputError);
  bad = s;
  bad.n_kv_heads = 3;
  CHECK_THROWS_WITH(bad.Validate(), Catch::Contains("n_kv_heads"));
}

TEST_CASE("Default heads follow the reference rule") {
  CHECK(DefaultHeads(256) == 4);
  CHECK(DefaultHeads(1536) == 24);
  CHECK(DefaultHeads(2048) == 16);
  CHECK(DefaultHeads(4096) == 32);
  CHECK(DefaultHeads(2112) == 33);  // >= 2048 but 128 does not divide: head size 64
  CHECK(DefaultHeads(100) == 0);
}
