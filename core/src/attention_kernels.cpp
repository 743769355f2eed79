// The per-head hot loops of the attention kernels. Workspaces are allocated once per head (or per
// thread range) before the loops; the products go through Eigen's GEMM.
#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "attention_internal.h"

namespace chronoscale::internal {

namespace {

template <typename T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// Splits `n` rows over at most `threads` threads, keeping at least `min_rows` rows per thread so
// that small heads do not pay for thread start-up.
int UsefulThreads(int64_t n, int threads, int64_t min_rows) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n / min_rows)));
}

template <typename T>
void NaiveHead(const RowMatrix<T>& q, const RowMatrix<T>& k, const RowMatrix<T>& v,
               RowMatrix<T>* out, bool causal, int threads) {
  const int64_t rows = q.rows(), keys = k.rows();
  const T scale = T(1) / std::sqrt(static_cast<T>(q.cols()));
  RowMatrix<T> scores(rows, keys);  // the materialised s x s scores
  ParallelFor(rows, UsefulThreads(rows, threads, 64), [&](int64_t begin, int64_t end, int) {
    auto s = scores.middleRows(begin, end - begin);
    s.noalias() = q.middleRows(begin, end - begin) * k.transpose();
    for (int64_t i = begin; i < end; ++i) {
      auto row = s.row(i - begin);
      row *= scale;
      if (causal && i + 1 < keys)
        row.tail(keys - i - 1).setConstant(-std::numeric_limits<T>::infinity());
      const T mx = row.maxCoeff();
      row = (row.array() - mx).exp();
      row /= row.sum();
    }
    out->middleRows(begin, end - begin).noalias() = s * v;
  });
}

template <typename T>
void FlashHead(const RowMatrix<T>& q, const RowMatrix<T>& k, const RowMatrix<T>& v,
               RowMatrix<T>* out, bool causal, int64_t block, int threads) {
  const int64_t rows = q.rows(), keys = k.rows(), dv = v.cols();
  const T scale = T(1) / std::sqrt(static_cast<T>(q.cols()));
  const int64_t blocks = (rows + block - 1) / block;
  ParallelFor(blocks, UsefulThreads(blocks, threads, 1), [&](int64_t begin, int64_t end, int) {
    RowMatrix<T> s(block, block);
    RowMatrix<T> acc(block, dv);
    Vector<T> row_max(block), row_sum(block), new_max(block), correction(block);
    for (int64_t qb = begin; qb < end; ++qb) {
      const int64_t i0 = qb * block;
      const int64_t nq = std::min(block, rows - i0);
      auto accb = acc.topRows(nq);
      accb.setZero();
      auto mx = row_max.head(nq);
      auto sum = row_sum.head(nq);
      auto nmx = new_max.head(nq);
      auto corr = correction.head(nq);
      mx.setConstant(-std::numeric_limits<T>::infinity());
      sum.setZero();
      const int64_t key_end = causal ? std::min(keys, i0 + nq) : keys;
      for (int64_t j0 = 0; j0 < key_end; j0 += block) {
        const int64_t nk = std::min(block, key_end - j0);
        auto sb = s.topLeftCorner(nq, nk);
        sb.noalias() = q.middleRows(i0, nq) * k.middleRows(j0, nk).transpose();
        sb *= scale;
        if (causal && j0 + nk - 1 > i0) {
          for (int64_t r = 0; r < nq; ++r) {
            const int64_t first_masked = i0 + r + 1 - j0;  // columns c >= this are j > i
            if (first_masked < nk) {
              sb.row(r).tail(nk - first_masked).setConstant(-std::numeric_limits<T>::infinity());
            }
          }
        }
        nmx = mx.cwiseMax(sb.rowwise().maxCoeff());
        corr = (mx - nmx).array().exp();
        sb = (sb.array().colwise() - nmx.array()).exp();
        sum = sum.cwiseProduct(corr) + sb.rowwise().sum();
        accb.array().colwise() *= corr.array();
        accb.noalias() += sb * v.middleRows(j0, nk);
        mx = nmx;
      }
      auto ob = out->middleRows(i0, nq);
      ob = accb;
      ob.array().colwise() /= sum.array();
    }
  });
}

// Query features in place: exponents, minus the row maximum, exponentiated.
template <typename T>
void QueryFeatures(const FeatureParams<T>& p, const Eigen::Ref<const RowMatrix<T>>& x,
                   Eigen::Ref<RowMatrix<T>> e, bool stabilize, RowMatrix<T>* scratch,
                   Vector<T>* norms) {
  FeatureExponents(p, x, e, scratch, norms);
  if (stabilize) {
    auto mx = norms->head(x.rows());
    mx = e.rowwise().maxCoeff();
    e = (e.array().colwise() - mx.array()).exp();
  } else {
    e = e.array().exp();
  }
}

template <typename T>
void FavorHead(const KernelContext<T>& ctx, const RowMatrix<T>& q, const RowMatrix<T>& k,
               const RowMatrix<T>& v, RowMatrix<T>* out, int threads) {
  const FeatureParams<T>& p = ctx.params;
  const bool stabilize = ctx.options->stabilize;
  const int64_t rows = q.rows(), keys = k.rows(), m = p.features, dv = v.cols();
  RowMatrix<T> key_features(keys, m);
  const int key_threads = UsefulThreads(keys, threads, 256);
  std::vector<RowMatrix<T>> kv_part(static_cast<std::size_t>(key_threads));
  std::vector<T> part_max(static_cast<std::size_t>(key_threads), T(0));
  ParallelFor(keys, key_threads, [&](int64_t begin, int64_t end, int t) {
    RowMatrix<T> scratch;
    Vector<T> norms;
    auto e = key_features.middleRows(begin, end - begin);
    FeatureExponents<T>(p, k.middleRows(begin, end - begin), e, &scratch, &norms);
    const T mx = stabilize ? e.maxCoeff() : T(0);
    e = (e.array() - mx).exp();
    RowMatrix<T>& kv = kv_part[static_cast<std::size_t>(t)];
    kv.resize(m, dv + 1);
    kv.leftCols(dv).noalias() = e.transpose() * v.middleRows(begin, end - begin);
    kv.col(dv) = e.colwise().sum().transpose();
    part_max[static_cast<std::size_t>(t)] = mx;
  });
  const T global_max = *std::max_element(part_max.begin(), part_max.end());
  RowMatrix<T> kv = kv_part[0] * std::exp(part_max[0] - global_max);
  for (std::size_t t = 1; t < kv_part.size(); ++t) {
    kv += kv_part[t] * std::exp(part_max[t] - global_max);
  }
  const int64_t block = 256;
  ParallelFor(rows, UsefulThreads(rows, threads, 256), [&](int64_t begin, int64_t end, int) {
    RowMatrix<T> e(std::min(block, end - begin), m);
    RowMatrix<T> num(e.rows(), dv + 1);
    RowMatrix<T> scratch;
    Vector<T> norms;
    for (int64_t r0 = begin; r0 < end; r0 += block) {
      const int64_t nr = std::min(block, end - r0);
      auto eb = e.topRows(nr);
      QueryFeatures<T>(p, q.middleRows(r0, nr), eb, stabilize, &scratch, &norms);
      auto nb = num.topRows(nr);
      nb.noalias() = eb * kv;
      auto ob = out->middleRows(r0, nr);
      ob = nb.leftCols(dv);
      ob.array().colwise() /= nb.col(dv).array();
    }
  });
}

template <typename T>
void FavorCausalHead(const KernelContext<T>& ctx, const RowMatrix<T>& q, const RowMatrix<T>& k,
                     const RowMatrix<T>& v, RowMatrix<T>* out, int threads) {
  const FeatureParams<T>& p = ctx.params;
  const bool stabilize = ctx.options->stabilize;
  const int64_t rows = q.rows(), m = p.features, dv = v.cols();
  const int64_t chunk = ctx.options->chunk_rows;
  const int64_t chunks = (rows + chunk - 1) / chunk;
  const int segments = UsefulThreads(chunks, threads, 4);
  auto seg_begin = [&](int64_t s) { return std::min(rows, (s * chunks / segments) * chunk); };
  RowMatrix<T> qf(rows, m), kf(rows, m);
  std::vector<RowMatrix<T>> seg_sum(static_cast<std::size_t>(segments));
  std::vector<T> seg_max(static_cast<std::size_t>(segments), T(0));
  // Stage 1: features of every row and each segment's sum of phi(k_j) [v_j 1].
  ParallelFor(segments, segments, [&](int64_t begin, int64_t end, int) {
    RowMatrix<T> scratch;
    Vector<T> norms;
    for (int64_t s = begin; s < end; ++s) {
      const int64_t r0 = seg_begin(s), nr = seg_begin(s + 1) - r0;
      auto& sum = seg_sum[static_cast<std::size_t>(s)];
      sum = RowMatrix<T>::Zero(m, dv + 1);
      if (nr == 0) continue;
      QueryFeatures<T>(p, q.middleRows(r0, nr), qf.middleRows(r0, nr), stabilize, &scratch, &norms);
      auto e = kf.middleRows(r0, nr);
      FeatureExponents<T>(p, k.middleRows(r0, nr), e, &scratch, &norms);
      const T mx = stabilize ? e.maxCoeff() : T(0);
      e = (e.array() - mx).exp();
      seg_max[static_cast<std::size_t>(s)] = mx;
      sum.leftCols(dv).noalias() = e.transpose() * v.middleRows(r0, nr);
      sum.col(dv) = e.colwise().sum().transpose();
    }
  });
  const T global_max = *std::max_element(seg_max.begin(), seg_max.end());
  // Exclusive prefix of the segment sums, on the global scale.
  std::vector<RowMatrix<T>> prefix(static_cast<std::size_t>(segments));
  prefix[0] = RowMatrix<T>::Zero(m, dv + 1);
  for (int s = 1; s < segments; ++s) {
    prefix[s] = prefix[s - 1] + seg_sum[s - 1] * std::exp(seg_max[s - 1] - global_max);
  }
  // Stage 2: the chunked prefix sum inside each segment.
  ParallelFor(segments, segments, [&](int64_t begin, int64_t end, int) {
    RowMatrix<T> a(chunk, chunk), num(chunk, dv + 1);
    for (int64_t s = begin; s < end; ++s) {
      const int64_t r0 = seg_begin(s), r1 = seg_begin(s + 1);
      if (r1 == r0) continue;
      const T rescale = std::exp(seg_max[static_cast<std::size_t>(s)] - global_max);
      if (rescale != T(1)) kf.middleRows(r0, r1 - r0) *= rescale;
      RowMatrix<T>& state = prefix[static_cast<std::size_t>(s)];
      for (int64_t c0 = r0; c0 < r1; c0 += chunk) {
        const int64_t nc = std::min(chunk, r1 - c0);
        const auto qc = qf.middleRows(c0, nc);
        const auto kc = kf.middleRows(c0, nc);
        const auto vc = v.middleRows(c0, nc);
        auto ab = a.topLeftCorner(nc, nc);
        ab.noalias() = qc * kc.transpose();
        ab.template triangularView<Eigen::StrictlyUpper>().setZero();
        auto nb = num.topRows(nc);
        nb.noalias() = qc * state;
        nb.leftCols(dv).noalias() += ab * vc;
        nb.col(dv) += ab.rowwise().sum();
        state.leftCols(dv).noalias() += kc.transpose() * vc;
        state.col(dv) += kc.colwise().sum().transpose();
        auto ob = out->middleRows(c0, nc);
        ob = nb.leftCols(dv);
        ob.array().colwise() /= nb.col(dv).array();
      }
    }
  });
}

}  // namespace

template <typename T>
void FeatureExponents(const FeatureParams<T>& p, const Eigen::Ref<const RowMatrix<T>>& x,
                      Eigen::Ref<RowMatrix<T>> e, RowMatrix<T>* scratch, Vector<T>* norms) {
  const int64_t n = x.rows();
  e.leftCols(p.draws).noalias() = x * p.wt;
  if (p.hyperbolic) e.rightCols(p.draws) = -e.leftCols(p.draws);
  if (norms->size() < n) norms->resize(n);
  auto nv = norms->head(n);
  if (p.metric.size() == 0) {
    nv = x.rowwise().squaredNorm() * p.half_norm_scale;
  } else {
    if (scratch->rows() < n || scratch->cols() != x.cols()) scratch->resize(n, x.cols());
    auto s = scratch->topRows(n);
    s.noalias() = x * p.metric;
    nv = s.cwiseProduct(x).rowwise().sum() * p.half_norm_scale;
  }
  e.array().colwise() -= nv.array();
  if (p.has_bias) e.array().rowwise() += p.bias.array();
}

template <typename T>
void RunHead(const KernelContext<T>& ctx, const RowMatrix<T>& q, const RowMatrix<T>& k,
             const RowMatrix<T>& v, RowMatrix<T>* out, int threads) {
  const AttentionOptions& o = *ctx.options;
  switch (o.kernel) {
    case AttentionKernel::kSoftmax:
      NaiveHead(q, k, v, out, o.causal, threads);
      return;
    case AttentionKernel::kFlash:
      FlashHead(q, k, v, out, o.causal, o.block_rows, threads);
      return;
    default:
      if (o.causal) {
        FavorCausalHead(ctx, q, k, v, out, threads);
      } else {
        FavorHead(ctx, q, k, v, out, threads);
      }
  }
}

#define CHRONOSCALE_INSTANTIATE(T)                                                            \
  template void FeatureExponents<T>(const FeatureParams<T>&,                                  \
                                    const Eigen::Ref<const RowMatrix<T>>&,                    \
                                    Eigen::Ref<RowMatrix<T>>, RowMatrix<T>*, Vector<T>*);     \
  template void RunHead<T>(const KernelContext<T>&, const RowMatrix<T>&, const RowMatrix<T>&, \
                           const RowMatrix<T>&, RowMatrix<T>*, int);
CHRONOSCALE_INSTANTIATE(float)
CHRONOSCALE_INSTANTIATE(double)
#undef CHRONOSCALE_INSTANTIATE

}  // namespace chronoscale::internal
