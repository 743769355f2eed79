#!/usr/bin/env bash
# Layering rules of ARCHITECTURE.md, checked (CI's .ci/run runs this):
#   1. core/ (chronoscale_core, core/bench, core/cuda) uses no Qt at all: no Qt header, no Qt
#      target or find_package(Qt...) in its CMake files.
#   2. Qt Charts is included only under plots/: no Qt Charts header (QtCharts/..., or any of its
#      class headers such as <QChart>, <QLineSeries>) and no Qt6::Charts link anywhere else.
# Exits 1 and lists every offending line; 0 when the tree is clean.
#
#   scripts/check_layering.sh [ROOT]        ROOT defaults to the repository
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# The headers Qt Charts 6 installs (one per public class, plus the module headers).
charts='QtCharts|QtChartsDepends|QtChartsVersion|QChartGlobal|QAbstractAxis|QAbstractBarSeries|QAbstractSeries|QAreaLegendMarker|QAreaSeries|QBarCategoryAxis|QBarLegendMarker|QBarModelMapper|QBarSeries|QBarSet|QBoxPlotLegendMarker|QBoxPlotModelMapper|QBoxPlotSeries|QBoxSet|QCandlestickLegendMarker|QCandlestickModelMapper|QCandlestickSeries|QCandlestickSet|QCategoryAxis|QChart|QChartView|QColorAxis|QDateTimeAxis|QHBarModelMapper|QHBoxPlotModelMapper|QHCandlestickModelMapper|QHPieModelMapper|QHXYModelMapper|QHorizontalBarSeries|QHorizontalPercentBarSeries|QHorizontalStackedBarSeries|QLegend|QLegendMarker|QLineSeries|QLogValueAxis|QPercentBarSeries|QPieLegendMarker|QPieModelMapper|QPieSeries|QPieSlice|QPolarChart|QScatterSeries|QSplineSeries|QStackedBarSeries|QVBarModelMapper|QVBoxPlotModelMapper|QVCandlestickModelMapper|QVPieModelMapper|QVXYModelMapper|QValueAxis|QXYLegendMarker|QXYModelMapper|QXYSeries'

sources=(--include='*.h' --include='*.hpp' --include='*.cpp' --include='*.cc' --include='*.cu'
         --include='*.cuh' --include='*.inl')
cmake_files=(--include='CMakeLists.txt' --include='*.cmake')
excluded=(--exclude-dir='build*' --exclude-dir='.git')

status=0
report() {  # $1: rule, $2: offending lines (grep -n output), if any
  if [[ -n $2 ]]; then
    echo "layering: $1" >&2
    echo "$2" | sed 's/^/  /' >&2
    status=1
  fi
}

# 1. core/: any Qt header (<QtCore/...>, <QString>, <QtGlobal>, <qglobal.h>) or Qt in CMake.
if [[ -d core ]]; then
  report "core/ must not include Qt" "$(grep -rnE "${excluded[@]}" "${sources[@]}" \
    '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](Qt[A-Za-z]*/|Q[A-Z][A-Za-z]*[>"]|qglobal\.h|qtconfig\.h)' core)"
  report "core/ CMake must not use Qt" "$(grep -rnE "${excluded[@]}" "${cmake_files[@]}" \
    'Qt6?::|find_package\([[:space:]]*Qt|qt_add_|qt6_' core)"
fi

# 2. Qt Charts outside plots/.
report "only plots/ may include Qt Charts" "$(grep -rnE "${excluded[@]}" "${sources[@]}" \
  "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"](QtCharts/[A-Za-z_.]+|($charts)|(${charts,,})\\.h)[>\"]" . |
  grep -v '^./plots/')"
report "only plots/ may link Qt Charts" "$(grep -rnE "${excluded[@]}" "${cmake_files[@]}" 'Qt6?::Charts' . |
  grep -v '^./plots/')"

[[ $status -eq 0 ]] && echo "layering: core/ has no Qt; Qt Charts only in plots/"
exit $status
