"""Augmentation that prepares an MNIST-trained network for drawn digits.

Runs inside the TensorFlow input pipeline on whole batches: random affine
warps (rotation, shear, independent x/y scaling, shifts), stroke thickness
changes (morphology at double resolution), and occasional loss of resolution
(digits scanned small, or drawn as a few straight strokes, look blocky).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class AugmentConfig:
    rotation_deg: float = 12.0
    shear: float = 0.25
    scale: tuple[float, float] = (0.8, 1.12)
    aspect: float = 0.18  # x and y scales differ by up to this share
    shift_px: float = 2.0
    thickness_p: float = 0.6  # share of images whose strokes change width
    lowres_p: float = 0.12


def _affine(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    n = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)
    angle = tf.random.uniform([n], -1.0, 1.0) * (cfg.rotation_deg * math.pi / 180)
    shear = tf.random.uniform([n], -cfg.shear, cfg.shear)
    scale = tf.random.uniform([n], cfg.scale[0], cfg.scale[1])
    aspect = tf.random.uniform([n], -cfg.aspect, cfg.aspect)
    sx, sy = scale * (1 + aspect / 2), scale * (1 - aspect / 2)
    tx = tf.random.uniform([n], -cfg.shift_px, cfg.shift_px)
    ty = tf.random.uniform([n], -cfg.shift_px, cfg.shift_px)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Forward map A = R @ Shear @ S; the transform op wants output->input,
    # i.e. the inverse, expressed about the image centre.
    a00, a01 = cos * sx, (cos * shear - sin) * sy
    a10, a11 = sin * sx, (sin * shear + cos) * sy
    det = a00 * a11 - a01 * a10
    i00, i01, i10, i11 = a11 / det, -a01 / det, -a10 / det, a00 / det
    c = (size - 1) / 2
    ox, oy = c + tx, c + ty
    b0 = c - (i00 * ox + i01 * oy)
    b1 = c - (i10 * ox + i11 * oy)
    zeros = tf.zeros_like(i00)
    transforms = tf.stack([i00, i01, b0, i10, i11, b1, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def _thickness(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    n = tf.shape(images)[0]
    size = tf.shape(images)[1]
    big = tf.image.resize(images, [size * 2, size * 2], method="bilinear")
    thinner = -tf.nn.max_pool2d(-big, 3, 1, "SAME")
    thicker = tf.nn.max_pool2d(big, 3, 1, "SAME")
    thickest = tf.nn.max_pool2d(big, 5, 1, "SAME")
    options = tf.stack([big, thinner, thicker, thickest], axis=0)  # (4, n, H, W, 1)
    choice = tf.random.categorical(tf.math.log([[0.2, 0.3, 0.3, 0.2]]), n)[0]
    keep = tf.random.uniform([n]) > cfg.thickness_p
    choice = tf.where(keep, tf.zeros_like(choice), choice)
    picked = tf.gather(tf.transpose(options, [1, 0, 2, 3, 4]), choice, batch_dims=1)
    small = tf.image.resize(picked, [size, size], method="area")
    # Thinning dims thin strokes; preprocessing rescales ink to full strength,
    # so do the same here.
    peak = tf.reduce_max(small, axis=[1, 2, 3], keepdims=True)
    return small / tf.maximum(peak, 1e-3)


def _low_resolution(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    n = tf.shape(images)[0]
    size = tf.shape(images)[1]
    small = tf.image.resize(images, [14, 14], method="area")
    blocky = tf.image.resize(small, [size, size], method="bilinear")
    # Re-sharpen: low-resolution sources are binarised more often than not.
    blocky = tf.clip_by_value((blocky - 0.25) * 2.0, 0.0, 1.0)
    use = tf.random.uniform([n, 1, 1, 1]) < cfg.lowres_p
    return tf.where(use, blocky, images)


def augment_batch(images: tf.Tensor, cfg: AugmentConfig = AugmentConfig()) -> tf.Tensor:
    """Augment a batch of (n, 28, 28, 1) images with values in 0..1."""
    images = _thickness(images, cfg)
    images = _affine(images, cfg)
    images = _low_resolution(images, cfg)
    return tf.clip_by_value(images, 0.0, 1.0)


# For the final, low learning-rate epochs: small warps, strokes as drawn.
LIGHT = AugmentConfig(
    rotation_deg=8.0,
    shear=0.15,
    scale=(0.9, 1.08),
    aspect=0.08,
    shift_px=1.5,
    thickness_p=0.0,
    lowres_p=0.0,
)
