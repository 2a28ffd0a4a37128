#!/usr/bin/env python3
"""Standalone reference CMA-ES for checking the TypeScript port of @vsml/evolve.

Written from the tutorial formulas (Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772) as
summarised in design/cmaes.md §1.1-1.2 and §2.1 (sep-CMA with pycma's sep learning rates). It shares no code with
the TypeScript port; only the conventions a trace must agree on are fixed here and in the port:

* the N(0,1) numbers are injected: generation g reads lambda*n numbers, candidate k takes z[k*n:(k+1)*n];
* full mode samples y_k = C^(1/2) z_k with the symmetric root C^(1/2) = B diag(D) B^T (same law as B D z, but
  independent of the eigensolver's sign and order conventions); sep mode samples y_k = sqrt(c) * z_k;
* the eigendecomposition (numpy.linalg.eigh here, our own tred2/tql2 in TS) is refreshed at the end of tell()
  when the generations since the last one reach the lazy gap 1/(10 n (c1 + cmu));
* h_sigma uses the tutorial's exponent 2(g+1), g = number of completed generations before this one;
* the log-step-size change is clipped to [-1, 1] (pycma's max_delta_log_sigma).

Usage: python3 scripts/cmaes_reference.py  (writes test/data/cmaes-golden.json and test/data/cmaes-trace.json)
Needs only numpy.
"""
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'test', 'data')


def params(n, lam=None, sep=False, active=True):
    """Strategy parameters from n and lambda (tutorial eq. 48-58; sep rates from pycma)."""
    if lam is None:
        lam = 4 + int(math.floor(3 * math.log(n)))                       # eq. 48
    mu = lam // 2
    wraw = np.array([math.log((lam + 1) / 2.0) - math.log(i) for i in range(1, lam + 1)])  # eq. 49
    wpos, wneg = wraw[:mu], wraw[mu:]
    mueff = wpos.sum() ** 2 / (wpos ** 2).sum()
    mueff_neg = wneg.sum() ** 2 / (wneg ** 2).sum() if (wneg ** 2).sum() > 0 else 0.0
    cs = (mueff + 2) / (n + mueff + 5)                                    # eq. 55
    ds = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + cs     # eq. 55
    chin = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    if not sep:
        cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)                    # eq. 56
        c1 = 2 / ((n + 1.3) ** 2 + mueff)                                 # eq. 57
        cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + 2 * mueff / 2))  # eq. 58
    else:
        cc = (1 + 1 / n + mueff / n) / (math.sqrt(n) + 1 / n + 2 * mueff / n)
        c1 = 1 / (n + 2 * math.sqrt(n) + mueff / n)
        cmu = min(1 - c1, (0.25 + mueff + 1 / mueff - 2) / (n + 4 * math.sqrt(n) + mueff / 2))
    a_mu = 1 + c1 / cmu                                                   # eq. 50
    a_mueff = 1 + 2 * mueff_neg / (mueff + 2)                             # eq. 51
    a_posdef = (1 - c1 - cmu) / (n * cmu)                                 # eq. 52
    a_min = min(a_mu, a_mueff, a_posdef)
    w = np.empty(lam)
    w[:mu] = wpos / wpos.sum()                                            # eq. 53
    w[mu:] = a_min * wneg / np.abs(wneg).sum() if active else 0.0
    return dict(n=n, lam=lam, mu=mu, w=w, mueff=mueff, mueff_neg=mueff_neg, cs=cs, ds=ds, cc=cc, c1=c1,
                cmu=cmu, chin=chin, cm=1.0, lazy_gap=1 / (10 * n * (c1 + cmu)), sep=sep,
                alphas=dict(mu=a_mu, mueff=a_mueff, posdef=a_posdef))


class CMA:
    """Tutorial CMA-ES with an injected N(0,1) stream (minimisation)."""

    def __init__(self, x0, sigma0, stream, lam=None, sep=False):
        self.p = params(len(x0), lam, sep)
        n = len(x0)
        self.n, self.stream, self.pos = n, stream, 0
        self.mean = np.array(x0, dtype=float)
        self.sigma = float(sigma0)
        self.ps = np.zeros(n)
        self.pc = np.zeros(n)
        self.C = np.ones(n) if sep else np.eye(n)
        self.B = np.eye(n)
        self.D = np.ones(n)
        self.g = 0
        self.g_eigen = 0

    def randn(self, k):
        z = np.array(self.stream[self.pos:self.pos + k], dtype=float)
        if len(z) != k:
            raise RuntimeError('stream exhausted')
        self.pos += k
        return z

    def sqrtC_times(self, z):
        if self.p['sep']:
            return np.sqrt(self.C) * z
        return self.B @ (self.D * (self.B.T @ z))

    def invsqrtC_times(self, y):
        if self.p['sep']:
            return y / np.sqrt(self.C)
        return self.B @ ((self.B.T @ y) / self.D)

    def ask(self):
        lam, n = self.p['lam'], self.n
        return [self.mean + self.sigma * self.sqrtC_times(self.randn(n)) for _ in range(lam)]

    def tell(self, X, f):
        p, n = self.p, self.n
        order = np.argsort(np.asarray(f, dtype=float), kind='stable')
        ys = np.array([(X[i] - self.mean) / self.sigma for i in order])      # y_{i:lambda}, old m and sigma
        w = p['w']
        mu = p['mu']
        yw = (w[:mu, None] * ys[:mu]).sum(axis=0)                              # eq. 41
        self.mean = self.mean + p['cm'] * self.sigma * yw                      # eq. 42
        cs, ds = p['cs'], p['ds']
        self.ps = (1 - cs) * self.ps + math.sqrt(cs * (2 - cs) * p['mueff']) * self.invsqrtC_times(yw)  # eq. 43
        dlog = (cs / ds) * (np.linalg.norm(self.ps) / p['chin'] - 1)                           # eq. 44
        self.sigma *= math.exp(min(1.0, max(-1.0, dlog)))
        hs_lhs = np.linalg.norm(self.ps) / math.sqrt(1 - (1 - cs) ** (2 * (self.g + 1)))
        hsig = 1.0 if hs_lhs < (1.4 + 2 / (n + 1)) * p['chin'] else 0.0                         # p. 28
        self.hsig = hsig
        cc = p['cc']
        self.pc = (1 - cc) * self.pc + hsig * math.sqrt(cc * (2 - cc) * p['mueff']) * yw       # eq. 45
        wo = w.copy()                                                                           # eq. 46
        for i in range(p['lam']):
            if w[i] < 0:
                s = np.sum(self.invsqrtC_times(ys[i]) ** 2)
                wo[i] = w[i] * n / s if s > 0 else 0.0
        delta = (1 - hsig) * cc * (2 - cc)
        c1, cmu = p['c1'], p['cmu']
        decay = 1 + c1 * delta - c1 - cmu * w.sum()
        if p['sep']:                                                                            # eq. 47
            self.C = decay * self.C + c1 * self.pc ** 2 + cmu * (wo[:, None] * ys ** 2).sum(axis=0)
        else:
            rank_mu = sum(wo[i] * np.outer(ys[i], ys[i]) for i in range(p['lam']))
            self.C = decay * self.C + c1 * np.outer(self.pc, self.pc) + cmu * rank_mu
        self.g += 1
        if not p['sep'] and self.g - self.g_eigen >= p['lazy_gap']:
            self.C = (self.C + self.C.T) / 2
            vals, vecs = np.linalg.eigh(self.C)
            self.D = np.sqrt(vals)
            self.B = vecs
            self.g_eigen = self.g

    def snapshot(self):
        return dict(generation=self.g, mean=self.mean.tolist(), sigma=self.sigma,
                    C=(self.C.tolist() if self.p['sep'] else self.C.reshape(-1).tolist()),
                    p_sigma=self.ps.tolist(), p_c=self.pc.tolist())


# --- test functions (cmaes.md §3.1) ---------------------------------------------------------------
def rosenbrock(x):
    return float(sum(100 * (x[i] ** 2 - x[i + 1]) ** 2 + (x[i] - 1) ** 2 for i in range(len(x) - 1)))


def ellipsoid(x):
    n = len(x)
    return float(sum(10 ** (6 * i / (n - 1)) * x[i] ** 2 for i in range(n)))


def sphere(x):
    return float(np.dot(x, x))


FUNCS = dict(rosenbrock=rosenbrock, ellipsoid=ellipsoid, sphere=sphere)


def trace(name, n, lam, sep, fname, x0, sigma0, gens, snaps, seed):
    lam_eff = params(n, lam, sep)['lam']
    rng = np.random.default_rng(seed)
    z = np.round(rng.standard_normal(gens * lam_eff * n), 6)   # 6 decimals: the JSON text is the exact stream
    stream = [float(v) for v in z]
    es = CMA([x0] * n, sigma0, stream, lam, sep)
    out = []
    hsig = []
    for g in range(1, gens + 1):
        X = es.ask()
        es.tell(X, [FUNCS[fname](x) for x in X])
        hsig.append(int(es.hsig))
        if g in snaps:
            out.append(es.snapshot())
    return dict(name=name, n=n, popSize=lam_eff, diagonal=sep, f=fname, x0=x0, sigma0=sigma0,
                generations=gens, hSigma=hsig, z=stream, snapshots=out)


def golden():
    rows = [(10, 10), (10, 16), (10, 64), (20, 12), (20, 128), (3000, 28), (3000, 16), (3000, 128)]
    out = []
    for sep in (False, True):
        for n, lam in rows:
            p = params(n, lam, sep)
            out.append(dict(n=n, popSize=lam, diagonal=sep, mu=p['mu'], muEff=p['mueff'], c1=p['c1'],
                            cMu=p['cmu'], cSigma=p['cs'], dSigma=p['ds'], cC=p['cc'], chiN=p['chin'],
                            weights=p['w'].tolist(), sumWeights=float(p['w'].sum()), alphas=p['alphas']))
    return out


def main():
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, 'cmaes-golden.json'), 'w') as fh:
        json.dump(dict(source='scripts/cmaes_reference.py (numpy %s)' % np.__version__, rows=golden()), fh)
    traces = [
        trace('full n=10 rosenbrock', 10, None, False, 'rosenbrock', 0.0, 0.5, 50, (1, 2, 50), 1),
        trace('full n=6 lambda=24 ellipsoid (alpha_posdef binds)', 6, 24, False, 'ellipsoid', 1.0, 1.0, 50,
              (1, 2, 50), 2),
        trace('full n=8 sphere from far with tiny sigma (h_sigma = 0)', 8, None, False, 'sphere', 30.0, 1e-3, 50,
              (1, 2, 50), 3),
        trace('sep n=10 ellipsoid', 10, None, True, 'ellipsoid', 1.0, 1.0, 50, (1, 2, 50), 4),
    ]
    with open(os.path.join(DATA, 'cmaes-trace.json'), 'w') as fh:
        json.dump(dict(source='scripts/cmaes_reference.py (numpy %s)' % np.__version__, traces=traces), fh)
    for t in traces:
        last = t['snapshots'][-1]
        print('%-55s sigma=%.6g  mean[0]=%.6g  generations with h_sigma=0: %d' % (
            t['name'], last['sigma'], last['mean'][0], t['hSigma'].count(0)))


if __name__ == '__main__':
    main()
