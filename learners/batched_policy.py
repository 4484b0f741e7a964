"""Fleet-scale greedy decisions from a trained recurrent agent network.

:class:`BatchedPolicy` evaluates one agent kind's DRQN (:class:`learners.qmix.AgentNet`)
for tens of thousands of agents per call, e.g. every air conditioner of a 56,000-DER
scenario each period. It is deployment-only: no gradients, a frozen copy of the weights.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from learners.qmix import AgentNet


@contextlib.contextmanager
def intra_op_threads(n: int | None):
    """Temporarily set torch's intra-op thread count (None: leave it as is)."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n is not None:
            torch.set_num_threads(before)


class BatchedPolicy:
    """Greedy decisions of one agent kind for very many agents at once (e.g. a 56,000-DER fleet).

    Computes the same function as :meth:`AgentNet.forward` followed by a masked argmax, in
    cache-sized chunks with preallocated buffers. Elementwise passes are what cost beyond the
    GEMMs, so they are folded away where algebra allows: the last-action embedding and input
    bias are one gathered row that the input GEMM accumulates onto; the hidden-state part of
    the GRU's r/z gates is accumulated by a GEMM into the input part (biases pre-summed); the
    state update ``n + z (h - n)`` is one ``lerp``.

    Chunks are shared out to ``workers`` Python threads that each run single-threaded torch
    ops, rather than splitting every op across OpenMP threads: the speed is the same on an idle
    machine, but on a shared one an OpenMP barrier after each of the ~150 small ops waits for
    any descheduled thread, which made the pass over 10x slower. Workers pull chunks from a
    shared counter, so a slowed worker just takes fewer. The weights are a snapshot taken at
    construction.

    Args:
        net: a trained agent network (``learner.agents[k]``).
        chunk_size: rows per chunk; 2048 keeps a chunk's gates (2048 x 3H floats) in L2 cache.
        workers: threads (default: ``torch.get_num_threads()`` at call time; 1 = no threads).
    """

    def __init__(self, net: AgentNet, chunk_size: int = 2048, workers: int | None = None) -> None:
        self.chunk_size, self.workers = chunk_size, workers
        self.n_actions, self.hidden_dim, self.obs_dim = net.n_actions, net.hidden_dim, net.obs_dim
        self.needs_ids = net.id_in is not None
        self._pool: ThreadPoolExecutor | None = None
        h = net.hidden_dim
        with torch.no_grad():
            # Transposed contiguous copies so every GEMM is addmm(bias, x, W) with no per-call transpose.
            self.w_obs = net.obs_in.weight.t().contiguous()
            # Row a+1 = input bias + embedding of last action a; row 0 = bias alone ("no last action").
            last = net.last_action_in if net.last_action_in is not None else torch.zeros(1, h)
            self.in_bias = (last + net.obs_in.bias).contiguous()
            self.w_id = None if net.id_in is None else net.id_in.detach().clone()
            self.w_ih = net.rnn.weight_ih.t().contiguous()
            self.b_ih = net.rnn.bias_ih.detach().clone()
            self.b_ih[: 2 * h] += net.rnn.bias_hh[: 2 * h]
            self.w_hh_rz = net.rnn.weight_hh[: 2 * h].t().contiguous()
            self.w_hn = net.rnn.weight_hh[2 * h:].t().contiguous()
            self.b_hn = net.rnn.bias_hh[2 * h:].detach().clone()
            self.w_q = net.q_head.weight.t().contiguous()
            self.b_q = net.q_head.bias.detach().clone()

    def greedy_actions(self, obs: np.ndarray, avail: np.ndarray | None = None,
                       last_action: np.ndarray | None = None, hidden: np.ndarray | None = None,
                       agent_ids: np.ndarray | None = None,
                       out_hidden: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Greedy actions and next GRU states for N agents.

        Args:
            obs: ``(N, obs_dim)`` observations.
            avail: ``(N, >= n_actions)`` bool available actions (default: all). A row with no
                available action yields action 0.
            last_action: ``(N,)`` previous actions, -1 for none (default: none).
            hidden: ``(N, H)`` float32 GRU states (default: zeros, i.e. start of an episode).
            agent_ids: ``(N,)`` slot ids, required only if the net was trained with ``obs_agent_id``.
            out_hidden: optional ``(N, H)`` float32 array for the new states; may be ``hidden``
                itself, which updates the fleet's states in place without a new allocation.

        Returns:
            ``(actions (N,) int64, new hidden (N, H) float32)``.
        """
        n = obs.shape[0]
        if obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs has {obs.shape[1]} features, the network expects {self.obs_dim}")
        if self.needs_ids and agent_ids is None:
            raise ValueError("this network was trained with obs_agent_id=True: pass agent_ids")
        if out_hidden is None:
            out_hidden = np.empty((n, self.hidden_dim), np.float32)
        io = {
            "obs": torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32)),
            "blocked": None if avail is None else torch.from_numpy(~np.asarray(avail[:, : self.n_actions], bool)),
            "rows": (torch.zeros(n, dtype=torch.long) if last_action is None or len(self.in_bias) == 1
                     else torch.from_numpy(np.asarray(last_action, dtype=np.int64)) + 1),
            "ids": None if self.w_id is None else torch.from_numpy(np.asarray(agent_ids, dtype=np.int64)),
            "h_in": None if hidden is None else torch.from_numpy(np.ascontiguousarray(hidden, dtype=np.float32)),
            "h_out": torch.from_numpy(out_hidden),
            "actions": torch.empty(n, dtype=torch.int64),
        }
        n_chunks = -(-n // self.chunk_size)
        workers = min(self.workers or torch.get_num_threads(), n_chunks)
        if workers <= 1:
            self._run_chunks(iter(range(n_chunks)), n_chunks, io)
        else:
            if self._pool is None or self._pool._max_workers < workers:
                self._pool = ThreadPoolExecutor(workers, thread_name_prefix="vppsim-policy")
            chunks = itertools.count()  # next() on it is atomic under the GIL
            with intra_op_threads(1):
                jobs = [self._pool.submit(self._run_chunks, chunks, n_chunks, io) for _ in range(workers)]
                for job in jobs:
                    job.result()
        return io["actions"].numpy(), out_hidden

    @torch.inference_mode()
    def _run_chunks(self, chunks: Iterator[int], n_chunks: int, io: dict[str, Any]) -> None:
        h_dim, c, n = self.hidden_dim, self.chunk_size, len(io["actions"])
        x_buf, gi_buf = torch.empty(c, h_dim), torch.empty(c, 3 * h_dim)
        ghn_buf, q_buf = torch.empty(c, h_dim), torch.empty(c, self.n_actions)
        for k in chunks:
            if k >= n_chunks:
                break
            s, e = k * c, min(n, (k + 1) * c)
            x, gi, ghn, q = x_buf[: e - s], gi_buf[: e - s], ghn_buf[: e - s], q_buf[: e - s]
            torch.index_select(self.in_bias, 0, io["rows"][s:e], out=x)
            x.addmm_(io["obs"][s:e], self.w_obs)
            if io["ids"] is not None:
                x.add_(self.w_id[io["ids"][s:e]])
            x.relu_()
            # GRUCell: r, z = sigmoid(W_i{r,z} x + W_h{r,z} h + b); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
            # h' = n + z (h - n)
            torch.addmm(self.b_ih, x, self.w_ih, out=gi)
            rz = gi[:, : 2 * h_dim]
            h_c = None if io["h_in"] is None else io["h_in"][s:e]
            if h_c is not None:  # with h = 0 (episode start) the W_hh GEMMs vanish
                rz.addmm_(h_c, self.w_hh_rz)
                torch.addmm(self.b_hn, h_c, self.w_hn, out=ghn)
            rz.sigmoid_()
            r, z = rz[:, :h_dim], rz[:, h_dim:]
            cand = gi[:, 2 * h_dim:].addcmul_(r, self.b_hn if h_c is None else ghn).tanh_()
            h_new = io["h_out"][s:e]
            if h_c is None:
                torch.addcmul(cand, cand, z, value=-1.0, out=h_new)
            else:  # safe when out_hidden is hidden: each element of h_c is read before it is overwritten
                torch.lerp(cand, h_c, z, out=h_new)
            torch.addmm(self.b_q, h_new, self.w_q, out=q)
            if io["blocked"] is not None:
                q.masked_fill_(io["blocked"][s:e], -torch.inf)
            torch.argmax(q, 1, out=io["actions"][s:e])
