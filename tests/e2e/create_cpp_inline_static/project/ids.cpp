#include "ids.h"

int id_from_ids() { return next_id(); }
