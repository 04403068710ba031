#pragma once
// kiln::Error lives in kernels/common/error.h so that the lowest layer (the
// SIMT emulator's launcher) can throw it too; everything above includes this.
#include "kernels/common/error.h"
