"""ADBench's bundle adjustment: reprojection residuals of P observations and their sparse Jacobian.

ADBench's data files replicate one camera, one point, one weight and one feature (the same in
all twenty files) to N cameras, M points and P observations; observation j sees camera
j mod N and point j mod M. x is (cameras (N x 11), points (M x 3), weights (P)) flattened.
"""
from __future__ import annotations

import numpy as np

import optbench
from optbench import Param

from .base import SEED, Workload

# (N, M, P) of problem 0, a small replica of the same data for quick checks (not an ADBench
# size), then of ADBench's ba1 ... ba20 (the numbers in the data files' names)
PROBLEMS = (
    (2, 3, 5),
    (49, 7776, 31843), (21, 11315, 36455), (161, 48126, 182072), (372, 47423, 204472), (257, 65132, 225911),
    (539, 65220, 277273), (93, 61203, 287451), (88, 64298, 383937), (810, 88814, 393775), (1197, 126327, 563734),
    (1723, 156502, 678718), (253, 163691, 899155), (245, 198739, 1091386), (356, 226730, 1255268),
    (1102, 780462, 4052340), (1544, 942409, 4750193), (1778, 993923, 5001946), (1936, 649673, 5213733),
    (4585, 1324582, 9125125), (13682, 4456117, 2987644),
)
# the one camera (rotation 3, centre 3, focal 1, principal point 2, radial distortion 2), point,
# weight and feature every ADBench file holds
CAMERA = (-0.758453, -1.109613, -0.845551, 34.556073, 39.676747, 53.881673, 419.194514, 5.864426, -8.518870,
          0.087812, 0.002739)
POINT = (7.203245, 0.001144, 3.023326)
WEIGHT = 0.417022
FEATURE = (271.760969, 834.209256)
CAMERA_SIZE, LOCAL = 11, 15  # an observation's inputs: its camera, its point, its weight
MODES = ("reverse", "forward")


def cross(xp, a, b):
    """Row-wise cross products of two (P, 3) arrays."""
    return xp.stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1], a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                     a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)


def observation_errors(xp, local, feature):
    """Each observation's (reprojection x, reprojection y, weight error) from its 15 inputs.

    ADBench's project(): Rodrigues rotation (every ADBench rotation is non-zero, so its
    zero-angle branch is not needed), perspective division, radial distortion, focal length and
    principal point; the reprojection error is weighted by w and the weight error is 1 - w^2."""
    rotation, centre, point, w = local[:, 0:3], local[:, 3:6], local[:, 11:14], local[:, 14]
    shifted = point - centre
    theta = xp.sqrt(xp.sum(rotation * rotation, axis=1))
    axis = rotation / theta[:, None]
    cos, sin = xp.cos(theta)[:, None], xp.sin(theta)[:, None]
    along = xp.sum(axis * shifted, axis=1)[:, None] * (1.0 - cos)
    rotated = shifted * cos + cross(xp, axis, shifted) * sin + axis * along
    projected = rotated[:, 0:2] / rotated[:, 2:3]
    radius2 = xp.sum(projected * projected, axis=1)
    distortion = 1.0 + local[:, 9] * radius2 + local[:, 10] * radius2 * radius2
    image = projected * (distortion * local[:, 6])[:, None] + local[:, 7:9]
    reprojection = w[:, None] * (image - feature)
    return xp.concat([reprojection, (1.0 - w * w)[:, None]], axis=1)


class BundleAdjustment(Workload):
    """ADBench's bundle adjustment, problem ba1 ... ba20 (0: a small replica, the default so that
    quick checks stay quick): residuals (2P reprojection, P weight).

    GradBench times the residuals and their sparse Jacobian; the objective is half their sum
    of squares, so optimizers can use it too. :meth:`jacobian` compresses the Jacobian: each
    observation's residuals depend on its own 15 inputs only, so ``mode`` reverse takes 3 VJPs
    (one per residual row) and forward 15 JVPs (one per input column) of the per-observation map."""

    name = "ba"
    source = "ADBench BA data ba1-ba20, GradBench evals/ba"
    derivative = "jacobian"
    params = {
        "problem": Param(int, 0, "ADBench problem number (ba1 ... ba20); 0: a 5-observation replica for quick checks",
                         ge=0, le=len(PROBLEMS) - 1),
        "mode": Param(str, "reverse", "how the sparse Jacobian is compressed: reverse (3 VJPs) or forward (15 JVPs)",
                      choices=MODES),
        "seed": SEED,
    }

    @classmethod
    def dimension(cls, params):
        cameras, points, observations = PROBLEMS[params["problem"]]
        return CAMERA_SIZE * cameras + 3 * points + observations

    def setup(self):
        self.cameras, self.points, self.observations = PROBLEMS[self.p["problem"]]
        seen = np.arange(self.observations)
        self.camera_of, self.point_of = seen % self.cameras, seen % self.points
        self.point = np.concatenate([np.tile(CAMERA, self.cameras), np.tile(POINT, self.points),
                                     np.full(self.observations, WEIGHT)])

    def local_inputs(self, x):
        """Each observation's camera, point and weight, (P, 15)."""
        xp = optbench.namespace(x)
        cams = xp.reshape(x[:CAMERA_SIZE * self.cameras], (self.cameras, CAMERA_SIZE))
        pts = xp.reshape(x[CAMERA_SIZE * self.cameras:CAMERA_SIZE * self.cameras + 3 * self.points], (self.points, 3))
        weights = x[CAMERA_SIZE * self.cameras + 3 * self.points:]
        return xp.concat([xp.take(cams, self.index("camera_of", self.camera_of, x), axis=0),
                          xp.take(pts, self.index("point_of", self.point_of, x), axis=0), weights[:, None]], axis=1)

    def errors(self, local):
        return observation_errors(optbench.namespace(local), local, self.constant("feature", np.array(FEATURE), local))

    def residuals(self, x):
        xp = optbench.namespace(x)
        errors = self.errors(self.local_inputs(x))
        return xp.concat([xp.reshape(errors[:, 0:2], (-1,)), errors[:, 2]])

    def __call__(self, x):
        xp = optbench.namespace(x)
        r = self.residuals(x)
        return xp.sum(r * r) / 2

    def jacobian(self, backend, x):
        """The nonzero entries of the residuals' Jacobian in ADBench's CSR order (:meth:`sparsity`)."""
        method = "vjp" if self.p["mode"] == "reverse" else "jvp"
        backend.check(method)
        xp = optbench.namespace(x)
        local = self.local_inputs(x)
        if method == "vjp":
            rows = [backend.vjp(self.errors, local, self.seed(3, r, x)) for r in range(3)]
            blocks = xp.stack(rows, axis=1)  # (P, 3 residuals, 15 inputs)
        else:
            columns = [backend.jvp(self.errors, local, self.seed(LOCAL, c, x)) for c in range(LOCAL)]
            blocks = xp.stack(columns, axis=2)
        return xp.concat([xp.reshape(blocks[:, 0:2, :], (-1,)), blocks[:, 2, LOCAL - 1]])

    def seed(self, width, column, like):
        """A (P, width) seed with ones in ``column``: the same direction for every observation."""
        seed = np.zeros((self.observations, width))
        seed[:, column] = 1.0
        return self.constant(f"seed{width}.{column}", seed, like)

    def sparsity(self) -> tuple[np.ndarray, np.ndarray]:
        """The Jacobian's CSR row offsets and column indices (ADBench's BASparseMat layout):
        per observation two rows of (11 camera, 3 point, 1 weight) columns, then P weight rows."""
        n_cameras = CAMERA_SIZE * self.cameras
        per_row = np.concatenate([
            (CAMERA_SIZE * self.camera_of)[:, None] + np.arange(CAMERA_SIZE),
            n_cameras + (3 * self.point_of)[:, None] + np.arange(3),
            (n_cameras + 3 * self.points + np.arange(self.observations))[:, None]], axis=1)
        columns = np.concatenate([np.repeat(per_row, 2, axis=0).ravel(),
                                  n_cameras + 3 * self.points + np.arange(self.observations)])
        offsets = np.concatenate([np.arange(2 * self.observations + 1) * LOCAL,
                                  2 * self.observations * LOCAL + np.arange(1, self.observations + 1)])
        return offsets, columns
