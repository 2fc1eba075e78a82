"""The data of optbench's ``logistic_regression`` objective and its seed-0 starting point."""
from benchopt import BaseDataset

import optbench


class Dataset(BaseDataset):
    name = "optbench_logistic"
    parameters = {"n_samples": [1000], "n_features": [100]}

    def get_data(self):
        problem = optbench.objective("logistic_regression", n=self.n_features, samples=self.n_samples,
                                     reg=1e-2, seed=0)
        return dict(X=problem.X, y=problem.y, w0=problem.x0(0))
