"""Pen-on-paper drawing primitives: wobbly strokes that look hand drawn."""

from __future__ import annotations

import cv2
import numpy as np


def paper(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A light, slightly uneven paper-like background (HxWx3 uint8)."""
    base = rng.uniform(225, 250)
    tint = rng.uniform(-8, 8, size=3)
    coarse = rng.normal(0, 4, size=(height // 8 + 1, width // 8 + 1)).astype(np.float32)
    noise = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)[..., None]
    grain = rng.normal(0, 3, size=(height, width, 1))
    image = np.clip(base + tint + noise + grain, 0, 255)
    return image.astype(np.uint8)


class Pen:
    """Draws jittered strokes in one ink colour and thickness."""

    def __init__(self, image: np.ndarray, rng: np.random.Generator, jitter: float = 1.2) -> None:
        self.image = image
        self.rng = rng
        self.jitter = jitter
        shade = int(rng.integers(10, 70))
        self.color = (shade, shade, min(255, shade + int(rng.integers(0, 60))))
        self.thickness = int(rng.integers(1, 3))

    def line(self, p0: tuple[float, float], p1: tuple[float, float], thickness: int | None = None) -> None:
        n = max(2, int(np.hypot(p1[0] - p0[0], p1[1] - p0[1]) // 12) + 2)
        t = np.linspace(0, 1, n)[:, None]
        pts = (1 - t) * np.asarray(p0) + t * np.asarray(p1)
        pts[1:-1] += self.rng.normal(0, self.jitter, size=(n - 2, 2))
        cv2.polylines(
            self.image,
            [pts.round().astype(np.int32)],
            False,
            self.color,
            thickness or self.thickness,
            cv2.LINE_AA,
        )

    def rect(self, x: float, y: float, w: float, h: float) -> None:
        self.line((x, y), (x + w, y))
        self.line((x + w, y), (x + w, y + h))
        self.line((x + w, y + h), (x, y + h))
        self.line((x, y + h), (x, y))

    def circle(self, cx: float, cy: float, r: float, filled: bool = False) -> None:
        n = max(8, int(r * 2))
        a = np.linspace(0, 2 * np.pi, n + 1)
        radius = r + self.rng.normal(0, self.jitter * 0.4, size=n + 1)
        pts = np.stack([cx + radius * np.cos(a), cy + radius * np.sin(a)], 1).round().astype(np.int32)
        if filled:
            cv2.fillPoly(self.image, [pts], self.color, cv2.LINE_AA)
        else:
            cv2.polylines(self.image, [pts], True, self.color, self.thickness, cv2.LINE_AA)

    def scribble(self, x: float, y: float, w: float, amplitude: float = 2.0, thickness: int | None = None) -> None:
        """A wavy horizontal stroke standing for handwritten text."""
        n = max(3, int(w // 5))
        xs = np.linspace(x, x + w, n)
        ys = y + amplitude * np.sin(np.linspace(0, self.rng.uniform(6, 14), n)) + self.rng.normal(0, 0.6, n)
        pts = np.stack([xs, ys], 1).round().astype(np.int32)
        cv2.polylines(self.image, [pts], False, self.color, thickness or self.thickness, cv2.LINE_AA)

    def triangle(self, pts: list[tuple[float, float]], filled: bool = False) -> None:
        arr = (np.asarray(pts) + self.rng.normal(0, self.jitter * 0.5, (3, 2))).round().astype(np.int32)
        if filled:
            cv2.fillPoly(self.image, [arr], self.color, cv2.LINE_AA)
        else:
            cv2.polylines(self.image, [arr], True, self.color, self.thickness, cv2.LINE_AA)
