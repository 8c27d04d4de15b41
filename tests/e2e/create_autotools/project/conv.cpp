#include "conv.h"
namespace conv {
int Scaler::apply(int x) const {
  return x * factor_;
}
}  // namespace conv
