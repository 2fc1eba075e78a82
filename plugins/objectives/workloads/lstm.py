"""ADBench's LSTM: the next-character log-loss of a stacked LSTM with diagonal weights over a text.

x is (main parameters (2l x 4b), extra parameters (3 x b)) flattened row-major, GradBench's
gradient layout; the state (2l x b) and the text (c characters of b bits) are data.
"""
from __future__ import annotations

import numpy as np

import optbench
from optbench import Param

from .base import SEED, Workload

# ADBench's text (Shakespeare's sonnets) has characters up to U+2019, so ceil(log2(8217)) = 14
# bits a character at every published size.
CHAR_BITS = 14


def sigmoid(xp, z):
    return 1.0 / (1.0 + xp.exp(-z))


class LongShortTermMemory(Workload):
    """ADBench's LSTM objective (l layers, c characters): GradBench's objective and gradient.

    Parameters and state are drawn as GradBench's generator draws them (uniform [0, 1), state,
    then main, then extra parameters), but from NumPy's generator seeded with ``seed``: GradBench
    leaves that draw unseeded. The text, ADBench's lstm_full.txt, is not shipped with optbench,
    so the c characters are drawn as uniformly random 14-bit codes after the parameters: the
    sizes are ADBench's, the numbers are not."""

    name = "lstm"
    source = "ADBench LSTM, GradBench evals/lstm"
    size_params = ("layers", "chars")
    params = {
        "layers": Param(int, 2, "number l of LSTM layers", ge=1),
        "chars": Param(int, 16, "number c of characters in the sequence (ADBench's: 1024, 4096, 8192)", ge=2),
        "seed": SEED,
    }

    @classmethod
    def dimension(cls, params):
        return 8 * params["layers"] * CHAR_BITS + 3 * CHAR_BITS

    def setup(self):
        layers, bits = self.p["layers"], CHAR_BITS
        rng = np.random.RandomState(self.p["seed"])
        self.state = rng.random_sample((2 * layers, bits))
        main = rng.random_sample((2 * layers, 4 * bits))
        extra = rng.random_sample((3, bits))
        codes = rng.randint(0, 2**bits, size=self.p["chars"])
        self.sequence = ((codes[:, None] >> np.arange(bits - 1, -1, -1)) & 1).astype(np.float64)
        self.point = np.concatenate([main.ravel(), extra.ravel()])

    def __call__(self, x):
        xp = optbench.namespace(x)
        layers, bits = self.p["layers"], CHAR_BITS
        main = xp.reshape(x[:8 * layers * bits], (2 * layers, 4 * bits))
        extra = xp.reshape(x[8 * layers * bits:], (3, bits))
        sequence = self.constant("sequence", self.sequence, x)
        initial = self.constant("state", self.state, x)
        state = [initial[i, ...] for i in range(2 * layers)]
        total = 0.0
        for t in range(self.p["chars"] - 1):
            state, prediction = self.predict(xp, main, extra, state, sequence[t, ...])
            normalised = prediction - xp.log(2.0 + xp.sum(xp.exp(prediction)))  # ADBench's sum(exp(y), 2)
            total = total + xp.sum(sequence[t + 1, ...] * normalised)
        return -total / ((self.p["chars"] - 1) * bits)

    @staticmethod
    def predict(xp, main, extra, state, character):
        """One step through every layer: the new state and the prediction of the next character."""
        bits = extra.shape[1]
        below = character * extra[0, ...]
        new_state = []
        for i in range(0, len(state), 2):
            hidden, cell = state[i], state[i + 1]
            gates = xp.concat([below, hidden, below, hidden]) * main[i, ...] + main[i + 1, ...]
            sig = sigmoid(xp, gates[:3 * bits])
            cell = cell * sig[:bits] + sig[bits:2 * bits] * xp.tanh(gates[3 * bits:])
            hidden = sig[2 * bits:] * xp.tanh(cell)
            new_state += [hidden, cell]
            below = hidden
        return new_state, below * extra[1, ...] + extra[2, ...]
