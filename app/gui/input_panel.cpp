#include "input_panel.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <QComboBox>
#include <QCoreApplication>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>

#include <chronoscale/attention.h>

#include "architecture_panel.h"
#include "gui_util.h"

namespace chronoscale::gui {
namespace {

// The hours slider is logarithmic: 0.1 h to 10,000 h over 0..1000.
constexpr double kLogHoursMin = -1, kLogHoursMax = 4;
constexpr int kSliderSteps = 1000;

// Each input's label, keyed by the field core's errors name (the CLI flag without dashes): one
// table for the form rows and for the stale-plan banner.
constexpr std::pair<const char*, const char*> kLabels[] = {
    {"hours", QT_TRANSLATE_NOOP("InputPanel", "Hours")},
    {"devices", QT_TRANSLATE_NOOP("InputPanel", "Devices")},
    {"goodput", QT_TRANSLATE_NOOP("InputPanel", "Goodput")},
    {"mfu", QT_TRANSLATE_NOOP("InputPanel", "MFU (FLOP estimator)")},
    {"gpus-per-node", QT_TRANSLATE_NOOP("InputPanel", "GPUs per node")},
    {"layout", QT_TRANSLATE_NOOP("InputPanel", "Pinned layout")},
    {"memory-reserve", QT_TRANSLATE_NOOP("InputPanel", "Memory reserve")},
    {"width", QT_TRANSLATE_NOOP("InputPanel", "Width")},
    {"depth", QT_TRANSLATE_NOOP("InputPanel", "Depth")},
    {"head-size", QT_TRANSLATE_NOOP("InputPanel", "Head size")},
    {"mlp-ratio", QT_TRANSLATE_NOOP("InputPanel", "MLP ratio")},
    {"seq", QT_TRANSLATE_NOOP("InputPanel", "Sequence")},
    {"batch", QT_TRANSLATE_NOOP("InputPanel", "Batch (global)")},
    {"vocab", QT_TRANSLATE_NOOP("InputPanel", "Vocabulary")},
    {"attention", QT_TRANSLATE_NOOP("InputPanel", "Attention")},
    {"features", QT_TRANSLATE_NOOP("InputPanel", "Features m")},
    {"kv-heads", QT_TRANSLATE_NOOP("InputPanel", "KV heads")},
    {"checkpointing", QT_TRANSLATE_NOOP("InputPanel", "Checkpointing")},
    {"sliding-window", QT_TRANSLATE_NOOP("InputPanel", "Sliding window")},
    {"experts", QT_TRANSLATE_NOOP("InputPanel", "Experts")},
    {"experts-per-token", QT_TRANSLATE_NOOP("InputPanel", "Experts per token")},
    {"shared-ff", QT_TRANSLATE_NOOP("InputPanel", "Shared expert width")},
    {"mlp", QT_TRANSLATE_NOOP("InputPanel", "MLP")},
    {"norm", QT_TRANSLATE_NOOP("InputPanel", "Norm")},
    {"positions", QT_TRANSLATE_NOOP("InputPanel", "Positions")},
    {"precision", QT_TRANSLATE_NOOP("InputPanel", "Precision")},
    {"optimizer", QT_TRANSLATE_NOOP("InputPanel", "Optimizer")},
    {"block", QT_TRANSLATE_NOOP("InputPanel", "Block")},
    {"estimator", QT_TRANSLATE_NOOP("InputPanel", "Step-time estimator")},
    {"aspect", QT_TRANSLATE_NOOP("InputPanel", "Aspect range")},
    {"unique-tokens", QT_TRANSLATE_NOOP("InputPanel", "Unique data")},
    {"top", QT_TRANSLATE_NOOP("InputPanel", "Top")},
};

QString Label(const char* field) { return InputPanel::LabelOf(field); }

QSpinBox* IntSpin(const char* name, int lo, int hi, int step = 1) {
  auto* w = new QSpinBox();
  w->setObjectName(QLatin1String(name));
  w->setRange(lo, hi);
  w->setSingleStep(step);
  w->setKeyboardTracking(false);
  return w;
}

QDoubleSpinBox* DoubleSpin(const char* name, double lo, double hi, int decimals, double step) {
  auto* w = new QDoubleSpinBox();
  w->setObjectName(QLatin1String(name));
  w->setRange(lo, hi);
  w->setDecimals(decimals);
  w->setSingleStep(step);
  w->setKeyboardTracking(false);
  return w;
}

QWidget* RangeRow(QSpinBox* lo, QSpinBox* hi, QSpinBox* step) {
  auto* w = new QWidget();
  auto* h = new QHBoxLayout(w);
  h->setContentsMargins(0, 0, 0, 0);
  h->addWidget(lo);
  h->addWidget(new QLabel(QStringLiteral(":")));
  h->addWidget(hi);
  h->addWidget(new QLabel(QObject::tr("step")));
  h->addWidget(step);
  return w;
}

// Two boxes, a colon between them, each taking half the width.
QWidget* PairRow(QDoubleSpinBox* lo, QDoubleSpinBox* hi) {
  auto* w = new QWidget();
  auto* h = new QHBoxLayout(w);
  h->setContentsMargins(0, 0, 0, 0);
  h->addWidget(lo, 1);
  h->addWidget(new QLabel(QStringLiteral(":")));
  h->addWidget(hi, 1);
  return w;
}

}  // namespace

QString InputPanel::LabelOf(const std::string& field) {
  for (const auto& [key, label] : kLabels) {
    if (field == key) return QCoreApplication::translate("InputPanel", label);
  }
  return {};
}

InputPanel::InputPanel(QObject* parent) : QObject(parent) {
  buildBudgetGroup();
  buildClusterGroup();
  buildSpaceGroup();
  m_architecture = new ArchitecturePanel();
  m_architecture->setOnChange([this] { changed(); });
  connectWidgets();
}

// Budget: hours (box and log slider), devices, goodput, MFU.
void InputPanel::buildBudgetGroup() {
  m_budget = new QGroupBox(tr("Budget"));
  auto* budget = new QFormLayout(m_budget);
  m_hours = DoubleSpin("hours", 0.01, 1e6, 2, 1);
  m_hours->setSuffix(tr(" h"));
  m_hoursSlider = new QSlider(Qt::Horizontal);
  m_hoursSlider->setObjectName(QStringLiteral("hoursSlider"));
  m_hoursSlider->setRange(0, kSliderSteps);
  m_hoursSlider->setToolTip(tr("Wall-clock hours, logarithmic: 0.1 h to 10,000 h"));
  m_devices = IntSpin("devices", 1, 1000000);
  m_goodput = DoubleSpin("goodput", 0.01, 1, 2, 0.05);
  m_mfu = DoubleSpin("mfu", 0.01, 1, 2, 0.05);
  m_mfu->setToolTip(
      tr("Utilisation of the FLOP estimator (without a fitted time model). The FLOP-based answer "
         "uses the MFU the time model predicts for its Chinchilla-shaped shape"));
  budget->addRow(Label("hours"), m_hours);
  budget->addRow(QString(), m_hoursSlider);
  budget->addRow(Label("devices"), m_devices);
  budget->addRow(Label("goodput"), m_goodput);
  budget->addRow(Label("mfu"), m_mfu);
}

// Cluster: GPUs per node, the pinned layout, the memory reserve.
void InputPanel::buildClusterGroup() {
  m_cluster = new QGroupBox(tr("Cluster"));
  auto* cluster = new QFormLayout(m_cluster);
  m_gpusPerNode = IntSpin("gpusPerNode", 0, 1048576);
  m_gpusPerNode->setSpecialValueText(tr("the profile's"));
  m_gpusPerNode->setToolTip(
      tr("GPUs per node: tensor parallelism stays inside a node, and jobs beyond one node are "
         "whole nodes (plan --gpus-per-node)"));
  m_layout = new QLineEdit();
  m_layout->setObjectName(QStringLiteral("layout"));
  m_layout->setPlaceholderText(tr("searched, e.g. tp=8,pp=4,zero=1,micro=2"));
  m_layout->setToolTip(
      tr("Pin parts of the parallel layout (plan --layout): tp, pp, dp, ep, micro, accum, zero "
         "0-3 or sharding, ckpt; the rest is searched"));
  m_reserve = DoubleSpin("memoryReserve", -1, 1e6, 1, 1);
  m_reserve->setSpecialValueText(tr("default (1 GiB + 5%)"));
  m_reserve->setSuffix(tr(" GiB"));
  m_reserve->setToolTip(
      tr("GiB per device kept free for the CUDA context, NCCL buffers and fragmentation "
         "(plan --memory-reserve)"));
  cluster->addRow(Label("gpus-per-node"), m_gpusPerNode);
  cluster->addRow(Label("layout"), m_layout);
  cluster->addRow(Label("memory-reserve"), m_reserve);
}

// Search space: width, depth and aspect ranges, unique data, head size, MLP ratio, sequence,
// batch, vocabulary, attention and its features.
void InputPanel::buildSpaceGroup() {
  m_space = new QGroupBox(tr("Search space"));
  auto* space = new QFormLayout(m_space);
  m_widthMin = IntSpin("widthMin", 1, 1 << 20, 64);
  m_widthMax = IntSpin("widthMax", 1, 1 << 20, 64);
  m_widthStep = IntSpin("widthStep", 1, 1 << 16, 64);
  m_depthMin = IntSpin("depthMin", 1, 100000);
  m_depthMax = IntSpin("depthMax", 1, 100000);
  m_depthStep = IntSpin("depthStep", 1, 10000);
  m_aspectMin = DoubleSpin("aspectMin", 0.01, 1e6, 1, 1);
  m_aspectMax = DoubleSpin("aspectMax", 0.01, 1e6, 1, 8);
  m_aspectMin->setToolTip(
      tr("d_model / n_layers kept in the search (plan --aspect): the loss law knows N and D, not "
         "shape, and is trusted only where shape barely matters"));
  m_aspectMax->setToolTip(m_aspectMin->toolTip());
  m_uniqueTokens = DoubleSpin("uniqueTokens", 0, 1e6, 1, 10);
  m_uniqueTokens->setSuffix(tr(" B tokens"));
  m_uniqueTokens->setSpecialValueText(tr("unlimited"));
  m_uniqueTokens->setToolTip(
      tr("Unique training tokens, in billions (plan --unique-tokens): a shape that sees more "
         "repeats data, and its loss uses Muennighoff et al.'s effective data"));
  m_headSize = IntSpin("headSize", 0, 1024, 32);
  m_headSize->setSpecialValueText(tr("auto (64 / 128)"));
  m_mlpRatio = DoubleSpin("mlpRatio", 0.25, 64, 4, 0.25);
  m_seq = IntSpin("seq", 1, 1 << 24, 256);
  m_batch = IntSpin("batch", 0, 1 << 24, 1);
  m_batch->setSpecialValueText(tr("auto (8 per GPU, <= 4M tokens)"));
  m_vocab = IntSpin("vocab", 1, 1 << 24, 1024);
  m_attention = new QComboBox();
  m_attention->setObjectName(QStringLiteral("attention"));
  for (const auto& name : AttentionNames()) m_attention->addItem(Q(name), Q(name));
  m_features = IntSpin("features", 1, 1 << 20, 16);
  space->addRow(Label("width"), RangeRow(m_widthMin, m_widthMax, m_widthStep));
  space->addRow(Label("depth"), RangeRow(m_depthMin, m_depthMax, m_depthStep));
  space->addRow(Label("aspect"), PairRow(m_aspectMin, m_aspectMax));
  space->addRow(Label("unique-tokens"), m_uniqueTokens);
  space->addRow(Label("head-size"), m_headSize);
  space->addRow(Label("mlp-ratio"), m_mlpRatio);
  space->addRow(Label("seq"), m_seq);
  space->addRow(Label("batch"), m_batch);
  space->addRow(Label("vocab"), m_vocab);
  space->addRow(Label("attention"), m_attention);
  space->addRow(Label("features"), m_features);
}

// Every widget's change notifies (through changed()); the hours box and slider follow each other.
void InputPanel::connectWidgets() {
  connect(m_hoursSlider, &QSlider::valueChanged, this, [this](int v) {
    if (m_writing) return;
    const double hours =
        std::pow(10.0, kLogHoursMin + (kLogHoursMax - kLogHoursMin) * v / kSliderSteps);
    // Three significant digits: the slider picks a magnitude, the box shows a readable number.
    const double unit = std::pow(10.0, std::floor(std::log10(hours)) - 2);
    {
      const QSignalBlocker block(m_hours);
      m_hours->setValue(std::round(hours / unit) * unit);
    }
    changed();
  });
  connect(m_hours, &QDoubleSpinBox::valueChanged, this, [this](double h) {
    if (m_writing) return;
    setSliderFromHours(h);
    changed();
  });
  for (QSpinBox* s : {m_devices, m_gpusPerNode, m_widthMin, m_widthMax, m_widthStep, m_depthMin,
                      m_depthMax, m_depthStep, m_headSize, m_seq, m_batch, m_vocab, m_features}) {
    connect(s, &QSpinBox::valueChanged, this, [this] { changed(); });
  }
  for (QDoubleSpinBox* s :
       {m_goodput, m_mfu, m_mlpRatio, m_reserve, m_aspectMin, m_aspectMax, m_uniqueTokens}) {
    connect(s, &QDoubleSpinBox::valueChanged, this, [this] { changed(); });
  }
  connect(m_layout, &QLineEdit::editingFinished, this, [this] { changed(); });
  connect(m_attention, &QComboBox::currentIndexChanged, this, [this] { changed(); });
}

void InputPanel::changed() {
  if (!m_writing && m_changed) m_changed();
}

void InputPanel::setSliderFromHours(double hours) {
  const double v = (std::log10(std::max(hours, 1e-9)) - kLogHoursMin) /
                   (kLogHoursMax - kLogHoursMin) * kSliderSteps;
  const QSignalBlocker block(m_hoursSlider);
  m_hoursSlider->setValue(static_cast<int>(std::lround(std::clamp(v, 0.0, 1.0 * kSliderSteps))));
}

void InputPanel::read(SessionInputs* in) const {
  in->hours = m_hours->value();
  in->devices = m_devices->value();
  in->goodput = m_goodput->value();
  in->mfu = m_mfu->value();
  in->gpus_per_node = m_gpusPerNode->value();
  in->layout = S(m_layout->text().trimmed());
  in->memory_reserve_gib = m_reserve->value() < 0 ? -1 : m_reserve->value();
  in->width = {m_widthMin->value(), m_widthMax->value(), m_widthStep->value()};
  in->depth = {m_depthMin->value(), m_depthMax->value(), m_depthStep->value()};
  in->min_aspect = m_aspectMin->value();
  in->max_aspect = m_aspectMax->value();
  in->unique_tokens = m_uniqueTokens->value() * 1e9;
  in->head_size = m_headSize->value();
  in->mlp_ratio = m_mlpRatio->value();
  in->seq_len = m_seq->value();
  in->batch = m_batch->value();
  in->vocab = m_vocab->value();
  in->attention = S(m_attention->currentData().toString());
  in->features = m_features->value();
  in->arch = m_architecture->read();
}

void InputPanel::write(const SessionInputs& in) {
  m_writing = true;
  const QSignalBlocker blockers[] = {
      QSignalBlocker(m_hours),     QSignalBlocker(m_devices),     QSignalBlocker(m_goodput),
      QSignalBlocker(m_mfu),       QSignalBlocker(m_gpusPerNode), QSignalBlocker(m_layout),
      QSignalBlocker(m_reserve),   QSignalBlocker(m_widthMin),    QSignalBlocker(m_widthMax),
      QSignalBlocker(m_widthStep), QSignalBlocker(m_depthMin),    QSignalBlocker(m_depthMax),
      QSignalBlocker(m_depthStep), QSignalBlocker(m_headSize),    QSignalBlocker(m_mlpRatio),
      QSignalBlocker(m_seq),       QSignalBlocker(m_batch),       QSignalBlocker(m_vocab),
      QSignalBlocker(m_attention), QSignalBlocker(m_features),    QSignalBlocker(m_aspectMin),
      QSignalBlocker(m_aspectMax), QSignalBlocker(m_uniqueTokens)};
  (void)blockers;
  m_hours->setValue(in.hours);
  setSliderFromHours(in.hours);
  m_devices->setValue(in.devices);
  m_goodput->setValue(in.goodput);
  m_mfu->setValue(in.mfu);
  m_gpusPerNode->setValue(static_cast<int>(in.gpus_per_node));
  m_layout->setText(Q(in.layout));
  m_reserve->setValue(in.memory_reserve_gib < 0 ? -1 : in.memory_reserve_gib);
  m_widthMin->setValue(static_cast<int>(in.width.min));
  m_widthMax->setValue(static_cast<int>(in.width.max));
  m_widthStep->setValue(static_cast<int>(in.width.step));
  m_depthMin->setValue(static_cast<int>(in.depth.min));
  m_depthMax->setValue(static_cast<int>(in.depth.max));
  m_depthStep->setValue(static_cast<int>(in.depth.step));
  m_aspectMin->setValue(in.min_aspect);
  m_aspectMax->setValue(in.max_aspect);
  m_uniqueTokens->setValue(in.unique_tokens / 1e9);
  m_headSize->setValue(static_cast<int>(in.head_size));
  m_mlpRatio->setValue(in.mlp_ratio);
  m_seq->setValue(static_cast<int>(in.seq_len));
  m_batch->setValue(static_cast<int>(in.batch));
  m_vocab->setValue(static_cast<int>(in.vocab));
  AttentionKind kind = AttentionKind::kFlash;
  Parse(in.attention, &kind);
  m_attention->setCurrentIndex(std::max(0, m_attention->findData(Q(ToString(kind)))));
  m_features->setValue(static_cast<int>(in.features));
  m_architecture->write(in.arch);
  m_writing = false;
}

}  // namespace chronoscale::gui
