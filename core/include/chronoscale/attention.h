// Attention kernels on Eigen: exact softmax (naive, materialised scores; blocked online softmax),
// FAVOR+ positive random features (iid, orthogonal, hyperbolic), the optimal-sampling estimator
// and the data-aware kernel exp(q^T Sigma_k k / sqrt(d)) (SCIENCE.md section 5). Float and double,
// batch x heads x seq x head dim, causal and not. Plus the error metrics against each kernel's own
// exact form, their closed forms, and synthetic Gaussian inputs.
//
// Temperature: every kernel uses 1/sqrt(d) (the random-feature maps work on x = q d^-1/4,
// y = k d^-1/4, so that SM(x, y) = exp(q.k / sqrt(d))).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chronoscale {

enum class AttentionKernel {
  kSoftmax = 0,  // exact, materialises the s x s scores
  kFlash,        // exact, blocked online softmax (never holds s x s)
  kFavor,        // FAVOR+ positive random features, iid Gaussian rows
  kFavorOrth,    // FAVOR+ with orthogonal blocks (QR with sign fix, rows rescaled by chi norms)
  kFavorHyp,     // FAVOR+ hyperbolic features [exp(wx), exp(-wx)] / sqrt(2), orthogonal draws
  kOptimal,      // optimal-sampling proposal N(0, (I + 2L)(I - 2L)^-1), importance weighted
  kDark,         // data-aware kernel exp(q^T Sigma_k k / sqrt(d)), projections from N(0, Sigma_k)
};
inline constexpr int kNumAttentionKernels = 7;

// "softmax", "flash", "favor", "favor-orth", "favor-hyp", "optimal", "dark".
std::string ToString(AttentionKernel kernel);
// Case-insensitive; false when unknown.
bool Parse(std::string_view text, AttentionKernel* out);
// Every kernel name, in enum order.
std::vector<std::string> AttentionKernelNames();
// True for the random-feature kernels (favor, favor-orth, favor-hyp, optimal, dark).
bool IsRandomFeature(AttentionKernel kernel);

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// batch x heads x seq x dim: one row-major seq x dim matrix per (batch, head), head-major.
template <typename T>
struct HeadTensor {
  int64_t batch = 0;
  int64_t heads = 0;
  int64_t seq = 0;
  int64_t dim = 0;
  std::vector<RowMatrix<T>> data;  // index batch_index * heads + head_index

  HeadTensor() = default;
  // Zero-filled.
  HeadTensor(int64_t batch_count, int64_t head_count, int64_t seq_len, int64_t head_dim)
      : batch(batch_count),
        heads(head_count),
        seq(seq_len),
        dim(head_dim),
        data(static_cast<std::size_t>(batch_count * head_count),
             RowMatrix<T>::Zero(seq_len, head_dim)) {}

  int64_t NumHeads() const { return batch * heads; }
  RowMatrix<T>& At(int64_t b, int64_t h) { return data[static_cast<std::size_t>(b * heads + h)]; }
  const RowMatrix<T>& At(int64_t b, int64_t h) const {
    return data[static_cast<std::size_t>(b * heads + h)];
  }
  template <typename U>
  HeadTensor<U> Cast() const {
    HeadTensor<U> out;
    out.batch = batch;
    out.heads = heads;
    out.seq = seq;
    out.dim = dim;
    out.data.reserve(data.size());
    for (const auto& m : data) out.data.push_back(m.template cast<U>());
    return out;
  }
};

struct AttentionOptions {
  AttentionKernel kernel = AttentionKernel::kFavor;
  // Mask keys after the query (decoder attention).
  bool causal = false;
  // Random features m (random-feature kernels). favor-hyp needs an even m (m / 2 draws, each
  // giving the pair exp(wx), exp(-wx)).
  int64_t features = 256;
  // Seed of the feature draw when Attention() draws the features itself.
  uint64_t seed = 0;
  // Q <- Q diag(sign(diag R)) in the orthogonal draws. Only tests turn it off (the estimator is
  // biased without it).
  bool qr_sign_fix = true;
  // Subtract the per-row maximum of the query exponents and one global maximum of the key
  // exponents (both cancel in the normalisation). Off only to study overflow.
  bool stabilize = true;
  // Query and key block of the flash kernel and chunk of causal FAVOR+ (rows).
  int64_t block_rows = 128;
  int64_t chunk_rows = 64;
  // Worker threads; 0 means std::thread::hardware_concurrency().
  int threads = 0;
  // SIMD level of the kernels: "" the best this CPU has (or CHRONOSCALE_ATTENTION_ISA), else
  // "sse2", "avx2" or "avx512", falling back to the best the CPU has.
  std::string isa;
  // dark: the kernel parameter Sigma_k (d x d, symmetric positive definite); empty: identity.
  Eigen::MatrixXd sigma_k;
  // optimal: the second moment Lambda of the scaled inputs x = q d^-1/4 (d x d) the proposal is
  // built from; empty: estimated from the queries and keys given to Attention().
  Eigen::MatrixXd second_moment;

  // Checks the fields for head dimension `dim` (sigma_k size and definiteness, features > 0,
  // even features for favor-hyp, block sizes); false with a message naming the field otherwise.
  bool IsValid(int64_t dim, std::string* error) const;
};

// A drawn random-feature map for one head dimension: phi(x)_i = m^-1/2 exp(w_i.x - x^T A x / 2
// + c_i) on scaled inputs x = q d^-1/4, with A = Sigma_k (dark) or I, c_i = 1/2 log(p/q)(w_i)
// (optimal; 0 otherwise). Hyperbolic maps use each row twice, with +w and -w.
struct RandomFeatureMap {
  AttentionKernel kernel = AttentionKernel::kFavor;
  int64_t dim = 0;
  int64_t features = 0;         // m, the feature dimension of phi
  Eigen::MatrixXd projection;   // draws x dim, rows w_i (dark: rows w_i^T M, Sigma_k = M^T M)
  Eigen::VectorXd log_weight;   // draws: c_i (zeros unless optimal)
  Eigen::MatrixXd norm_metric;  // dim x dim: A (empty: identity)
  bool hyperbolic = false;

  int64_t Draws() const { return projection.rows(); }
};

// Draws the features of options.kernel for head dimension `dim` with `seed` (redraw on demand:
// call again with another seed). `second_moment` is Lambda for the optimal proposal (ignored by
// the other kernels; eigenvalues are clamped below 0.45 so the proposal stays proper).
// Throws InputError if the options are invalid for `dim`.
RandomFeatureMap DrawRandomFeatures(const AttentionOptions& options, int64_t dim, uint64_t seed,
                                    const Eigen::MatrixXd& second_moment = Eigen::MatrixXd());

// Lambda = (E[x x^T] + E[y y^T]) / 2 over every head's rows, x = q d^-1/4, y = k d^-1/4.
template <typename T>
Eigen::MatrixXd ScaledSecondMoment(const HeadTensor<T>& q, const HeadTensor<T>& k);

// Runs the kernel: out (resized) = attention(q, k, v). Random-feature kernels use `features`
// when given, else draw them (options.seed; optimal: options.second_moment or the data's).
// Throws InputError on mismatched shapes or invalid options.
template <typename T>
void Attention(const AttentionOptions& options, const HeadTensor<T>& q, const HeadTensor<T>& k,
               const HeadTensor<T>& v, HeadTensor<T>* out,
               const RandomFeatureMap* features = nullptr);

// phi(X) for one head's rows X (unscaled q or k; rows x features), in double, without
// stabilisation: the estimate of the kernel is phi(Q) phi(K)^T.
Eigen::MatrixXd FeatureMatrix(const RandomFeatureMap& map, const Eigen::MatrixXd& rows);
// Random-feature estimate of the kernel between the rows of q and k (Lq x Lk, double); exact
// kernels give the exact kernel. Computed in log space per row so it does not overflow.
Eigen::MatrixXd EstimateKernel(const RandomFeatureMap& map, const Eigen::MatrixXd& q,
                               const Eigen::MatrixXd& k);
// The kernel's own exact form: exp(q^T A k / sqrt(d)) with A = sigma_k for dark (identity when
// empty), the softmax kernel for every other kernel.
Eigen::MatrixXd ExactKernel(AttentionKernel kernel, const Eigen::MatrixXd& sigma_k,
                            const Eigen::MatrixXd& q, const Eigen::MatrixXd& k);
// Exact attention output (softmax, or dark's exact form) for the query rows `rows` of one head.
Eigen::MatrixXd ExactOutputRows(AttentionKernel kernel, const Eigen::MatrixXd& sigma_k, bool causal,
                                const Eigen::MatrixXd& q, const Eigen::MatrixXd& k,
                                const Eigen::MatrixXd& v, const std::vector<int64_t>& rows);

struct AttentionErrors {
  double kernel_rel_mse = 0;    // mean over pairs of ((k_hat - k) / k)^2
  double kernel_mse = 0;        // mean over pairs of (k_hat - k)^2
  double output_rel_error = 0;  // ||out - exact|| / ||exact|| over the sampled query rows
  int64_t pairs = 0;            // query-key pairs the kernel metrics averaged
  int64_t rows = 0;             // query rows the output error compared
};

struct ErrorOptions {
  int64_t max_heads = 4;       // heads compared (the first ones)
  int64_t max_queries = 1024;  // query rows per head (evenly strided)
};

// Errors of `out` (computed by Attention with `map`; map may be null for the exact kernels)
// against the kernel's own exact form.
template <typename T>
AttentionErrors MeasureErrors(const AttentionOptions& options, const RandomFeatureMap* map,
                              const HeadTensor<T>& q, const HeadTensor<T>& k,
                              const HeadTensor<T>& v, const HeadTensor<T>& out,
                              const ErrorOptions& error_options = ErrorOptions());

// Closed forms for x, y ~ N(0, Lambda) (Lambda = Sigma / sqrt(d)):
//  iid FAVOR+ (and dark, with Lambda Sigma_k in place of Lambda):
//    m E[kernel_mse] = det((I - 6L)(I + 2L))^-1/2 - det(I - 4L^2)^-1/2 (infinite unless L < I/6)
//  optimal: m E[kernel_mse] = det(I - 2L)^-1 - det(I - 4L^2)^-1/2
//  softmax, flash: 0. favor-orth, favor-hyp: no closed form (NaN).
double KernelMseTheory(AttentionKernel kernel, const Eigen::MatrixXd& lambda, int64_t features,
                       const Eigen::MatrixXd& sigma_k = Eigen::MatrixXd());
// Expected kernel_rel_mse of iid FAVOR+ on isotropic inputs:
// ((1 - 4 s)^(-d/2) - 1) / m with s = tau / sqrt(d).
double KernelRelMseTheoryIsotropic(double tau, int64_t dim, int64_t features);

// Synthetic inputs (SCIENCE.md section 5): q, k ~ N(0, Sigma) with Sigma = tau I (isotropic,
// decay_ratio 1) or U diag(l_1..l_d) U^T, U random orthonormal, l falling geometrically to
// l_1 / decay_ratio, scaled so tr(Sigma^2) / d = tau^2; v ~ N(0, I).
struct SyntheticOptions {
  int64_t batch = 1;
  int64_t heads = 1;
  int64_t seq = 1024;
  int64_t dim = 64;
  double tau = 0.125;
  double decay_ratio = 1;
  uint64_t seed = 0;
};
// Sigma of the options (drawn U from the seed).
Eigen::MatrixXd SyntheticCovariance(const SyntheticOptions& options);
template <typename T>
void MakeSyntheticInputs(const SyntheticOptions& options, HeadTensor<T>* q, HeadTensor<T>* k,
                         HeadTensor<T>* v, Eigen::MatrixXd* covariance = nullptr);

// Parses a spectrum spec "decay:R" (R >= 1) or "isotropic" (1); InputError naming `flag` else.
double ParseSpectrum(std::string_view spec, const std::string& flag);

// The SIMD level the kernels run at on this CPU: "avx512", "avx2" or "sse2" (each kernel is
// compiled for all three and picked at run time; CHRONOSCALE_ATTENTION_ISA=sse2|avx2|avx512 asks
// for one, falling back to the best the CPU has).
std::string AttentionIsa();

}  // namespace chronoscale
