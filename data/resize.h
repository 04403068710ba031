#pragma once
// Resizing and cropping of float images (any channel count).
//
// bilinear: a triangle filter whose support widens with the shrink factor
//   (PIL's "antialias" bilinear): enlarging it is plain bilinear interpolation
//   with pixel centres at +0.5 (align_corners = false), shrinking it averages
//   every source pixel under the footprint, so thin scratches do not alias away.
// area: each output pixel is the exact area-weighted mean of the source pixels
//   it covers (a box filter; OpenCV's INTER_AREA when shrinking).
// nearest: for label masks (no new values).
#include <string>

#include "data/image.h"

namespace kiln::data {

enum class Interpolation { bilinear, area, nearest };

// How an image of another aspect ratio is brought to height x width.
//   stretch: resize to exactly height x width (aspect changes; nothing lost)
//   crop:    resize the shorter side to fit, then centre-crop the longer one
//   pad:     resize the longer side to fit, then centre on a black canvas
enum class Fit { stretch, crop, pad };
Fit parse_fit(const std::string& name);
const char* fit_name(Fit fit);

Image resize(const Image& image, int height, int width, Interpolation interpolation = Interpolation::bilinear);
Image center_crop(const Image& image, int height, int width);  // height, width <= the image's
Image pad_to(const Image& image, int height, int width, float fill = 0);  // centred, >= the image's
Image resize_to_fit(const Image& image, int height, int width, Fit fit,
                    Interpolation interpolation = Interpolation::bilinear);

}  // namespace kiln::data
