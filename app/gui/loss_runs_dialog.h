// The column-mapping dialog for a loss-runs CSV: which columns hold N, D (or the FLOPs C, with
// D = C / 6N) and the loss, how many of the highest-loss runs to drop, bootstrap resamples and
// what N counts; the same choices as fit-loss's flags, with their defaults.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <QWidget>

#include "session.h"

namespace chronoscale::gui {

// `columns`: the file's header. `start`: the choices to show first (a column they name that the
// file lacks is replaced by a guess: "Model Size" / "Training FLOP" for Epoch's digitised
// Chinchilla runs). Empty when the user cancels.
std::optional<SessionInputs::LossRunsInputs> AskLossRunsOptions(
    QWidget* parent, const QString& file, const std::vector<std::string>& columns,
    SessionInputs::LossRunsInputs start);

// The guesses alone (no dialog): `start` with every column it names that `columns` lacks
// replaced, where the file has an obvious other (Epoch's Chinchilla layout).
SessionInputs::LossRunsInputs GuessLossColumns(const std::vector<std::string>& columns,
                                               SessionInputs::LossRunsInputs start);

}  // namespace chronoscale::gui
