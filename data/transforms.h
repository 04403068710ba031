#pragma once
// Augmentation and the single transforms it is made of, on float HWC images
// with values in [0, 1] (data/image.h).
//
// Each transform is a plain function of the image and its parameters (tested
// one by one); augment() draws the parameters from a SampleRng, so a sample's
// augmentation depends only on (seed, epoch, position), never on the thread.
//
// Conventions (those of torchvision, so published recipes carry over):
//   positive angles rotate counter-clockwise; translate is a fraction of the
//   image size; colour factors are drawn from [max(0, 1 - s), 1 + s]; hue from
//   [-h, h] turns of the colour wheel; pixels brought in from outside the image
//   by a geometric transform take the value `fill` (0, black).
#include <map>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/sample_rng.h"

namespace kiln::data {

// ---- single transforms -------------------------------------------------------

Image hflip(const Image& image);                  // mirror left-right
Image vflip(const Image& image);                  // mirror top-bottom
Image rotate90(const Image& image, int quarter_turns);  // exact; counter-clockwise; odd turns swap H and W

// 3x3 matrix over pixel coordinates (x right, y down, pixel centres at +0.5).
struct Matrix3 {
    double m[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
};
Matrix3 multiply(const Matrix3& a, const Matrix3& b);
Matrix3 inverse(const Matrix3& a);  // kiln::Error when singular
// Forward map of torchvision's affine: about the image centre, scale, then
// shear (x by shear_x degrees, y by shear_y), then rotate, then translate by
// (tx, ty) pixels.
Matrix3 affine_matrix(double angle_degrees, double tx, double ty, double scale, double shear_x_degrees,
                      double shear_y_degrees, double center_x, double center_y);
// The homography taking the four points `from` to the four points `to` ([x, y] each).
Matrix3 homography(const double from[4][2], const double to[4][2]);
// out(p) = image(source_of_output * p), bilinear, `fill` outside the image.
Image warp(const Image& image, const Matrix3& source_of_output, float fill = 0);

// Any angle; multiples of 90 degrees on a square image are exact (rotate90).
Image rotate(const Image& image, double angle_degrees, float fill = 0);
Image affine(const Image& image, double angle_degrees, double translate_x, double translate_y, double scale,
             double shear_x_degrees, double shear_y_degrees = 0, float fill = 0);

Image adjust_brightness(const Image& image, float factor);  // x * f
Image adjust_contrast(const Image& image, float factor);    // mean + f (x - mean), mean of the gray image
Image adjust_saturation(const Image& image, float factor);  // gray + f (x - gray); no-op on 1 channel
Image adjust_hue(const Image& image, float shift);          // shift in turns, [-0.5, 0.5]; no-op on 1 channel
Image grayscale_keep_channels(const Image& image);          // luma in every channel
Image gaussian_blur(const Image& image, float sigma);       // separable, reflected border, radius ceil(3 sigma)
// Rectangle [top, top+height) x [left, left+width) set to `value`, or to
// uniform noise drawn from rng when value < 0.
void erase(Image& image, int top, int left, int height, int width, float value, SampleRng* rng = nullptr);
void add_gaussian_noise(Image& image, float std, SampleRng& rng);  // then clamped to [0, 1]

// (x - mean[c]) / std[c] in place.
void normalize(Image& image, const std::vector<float>& mean, const std::vector<float>& std);

// ---- augmentation --------------------------------------------------------------

// Every knob of augment(), in the order applied. A zero probability or range
// turns a step off; AugmentConfig{} does nothing.
struct AugmentConfig {
    float hflip_p = 0, vflip_p = 0;
    float rotate90_p = 0;          // then a quarter-turn count 1..3 (exact; half turn only when not square)
    float rotate_degrees = 0;      // uniform in [-d, d]
    float translate = 0;           // uniform in [-t, t] of width and of height
    float scale_min = 1, scale_max = 1;
    float shear_degrees = 0;       // x shear uniform in [-s, s]
    float perspective_p = 0, perspective_distortion = 0;  // corners move inward up to d * half size
    float brightness = 0, contrast = 0, saturation = 0, hue = 0;  // colour jitter, random order
    float grayscale_p = 0;
    float blur_p = 0, blur_sigma_min = 0.1f, blur_sigma_max = 2.0f;
    float noise_p = 0, noise_std = 0.03f;
    float erase_p = 0, erase_area_min = 0.02f, erase_area_max = 0.15f, erase_aspect_min = 0.3f;  // aspect in [a, 1/a]
    float erase_value = -1;        // < 0: uniform noise (see docs/data.md), else that constant
    float fill = 0;                // value outside the image after a geometric transform

    bool geometric() const;        // does any warp step run?
};

// Named recipes: none; light (flips only: seed 002's advice for defect
// classes); standard (seed 003's values: flip, 20 degrees, translate 0.15,
// scale 0.85-1.15, perspective 0.2 p 0.3, jitter 0.4/0.4/0.3/0.15, grayscale
// 0.1, erasing 0.3 of 2-15 %); round (round parts, seed 002: flips, any
// angle, exact quarter turns, mild jitter).
AugmentConfig augment_preset(const std::string& name);
// "standard" or "standard:rotate_degrees=45,erase_p=0" (any field by its name).
AugmentConfig parse_augment(const std::string& spec);
std::vector<std::string> augment_field_names();
std::string describe(const AugmentConfig& config);  // "key=value, ..." of the non-default fields

// The augmentation of one sample; the input is not changed.
Image augment(const Image& image, const AugmentConfig& config, SampleRng& rng);

// A config per class: `config` for every class unless `per_class` has one
// (seed 002: milder augmentation for the defect classes).
struct AugmentPolicy {
    AugmentConfig config;
    std::map<int64_t, AugmentConfig> per_class;
    const AugmentConfig& for_class(int64_t label) const;
};
// `good` for the good class(es) of `class_names` (data/dataset.h,
// is_good_class_name), `defect` for every other class.
AugmentPolicy good_and_defect_policy(const std::vector<std::string>& class_names, const AugmentConfig& good,
                                     const AugmentConfig& defect);

}  // namespace kiln::data
