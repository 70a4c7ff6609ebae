"""Facts from the Python config dump that MMEngine and mmcv print after ``Config:``.

The dump is Python source (``batch_size = 1``, ``train_dataloader = dict(batch_size=..., sampler=dict(...))``).
It is read with ``ast`` and a small evaluator that understands literals, ``dict(...)``, ``range(...)``,
names bound earlier in the dump and integer arithmetic; nothing is ever executed. Statements that do
not parse (dumps sometimes hold ``<function ...>`` reprs) are skipped one by one, not the whole dump.

Hostile dumps cost little and raise nothing: expressions nested deeper than ``MAX_DEPTH`` (``1+1+...``,
``- - - 1``, which overflow Python's own parser or recursion limit) are unknown, arithmetic stops at
integers beyond int64 (so repeated squaring cannot grow numbers without bound), ``range`` at
``MAX_RANGE`` items, and a fact is kept only when it is an integer a double holds exactly.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from .records import HeaderFacts

_UNKNOWN = object()
_TOP_LEVEL_ASSIGN = re.compile(r"^[A-Za-z_]\w*\s*=")
MAX_DEPTH = 64  # nested expressions read; deeper is unknown
MAX_RANGE = 1 << 16  # items of a range(...) read (gpu_ids = range(8)); longer is unknown
_MAX_INT = (1 << 63) - 1  # arithmetic beyond this is unknown
_MAX_FACT = 1 << 53  # an integer fact must be exact in a double (the analysis divides with floats)
# What Python's parser raises on input it cannot hold: too deep (MemoryError "parser stack overflow",
# RecursionError), or not Python at all.
_UNPARSABLE = (SyntaxError, ValueError, MemoryError, RecursionError)


def read_config(text: str) -> dict[str, Any]:
    """Top-level names of a config dump -> evaluated values (unknown parts are left out)."""
    env: dict[str, Any] = {}
    for stmt in _statements(text):
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            continue
        target = stmt.targets[0]
        if isinstance(target, ast.Name):
            value = _eval(stmt.value, env, 0)
            if value is not _UNKNOWN:
                env[target.id] = value
    return env


def _statements(text: str) -> list[ast.stmt]:
    try:
        return ast.parse(text).body
    except _UNPARSABLE:
        pass
    # Fall back to one top-level statement at a time.
    chunks: list[list[str]] = []
    for line in text.splitlines():
        if _TOP_LEVEL_ASSIGN.match(line) or not chunks:
            chunks.append([line])
        else:
            chunks[-1].append(line)
    out: list[ast.stmt] = []
    for chunk in chunks:
        try:
            out.extend(ast.parse("\n".join(chunk)).body)
        except _UNPARSABLE:
            continue
    return out


def _eval(node: ast.AST, env: dict[str, Any], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return _UNKNOWN
    depth += 1
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        return env.get(node.id, _UNKNOWN)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, env, depth) for e in node.elts]
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            key = _eval(k, env, depth) if k is not None else _UNKNOWN
            if isinstance(key, str):
                out[key] = _eval(v, env, depth)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _eval(node.operand, env, depth)
        return -v if isinstance(v, (int, float)) else _UNKNOWN
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, env, depth), _eval(node.right, env, depth)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                   ast.FloorDiv: lambda: a // b if b else _UNKNOWN, ast.Div: lambda: a / b if b else _UNKNOWN}
            fn = ops.get(type(node.op))
            try:
                value = fn() if fn else _UNKNOWN
            except ArithmeticError:  # a float too large for a double, an inf // x
                return _UNKNOWN
            return _UNKNOWN if isinstance(value, int) and abs(value) > _MAX_INT else value
        return _UNKNOWN
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "dict":
            return {kw.arg: _eval(kw.value, env, depth) for kw in node.keywords if kw.arg}
        if node.func.id == "range":
            args = [_eval(a, env, depth) for a in node.args]
            if all(isinstance(a, int) for a in args) and 1 <= len(args) <= 3:
                try:
                    r = range(*args)
                except ValueError:  # a step of 0
                    return _UNKNOWN
                return list(r) if len(r) <= MAX_RANGE else _UNKNOWN
    return _UNKNOWN


def _get(cfg: dict[str, Any], path: str) -> Any:
    cur: Any = cfg
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return None if cur is _UNKNOWN else cur


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and abs(v) <= _MAX_FACT else None


def _first(cfg: dict[str, Any], paths: tuple[str, ...], conv=_int) -> tuple[Any, str | None]:
    for path in paths:
        v = conv(_get(cfg, path))
        if v is not None:
            return v, path
    return None, None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _bool(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def apply_config_facts(text: str, header: HeaderFacts) -> None:
    """Fill ``header`` from a config dump (facts already known from the header block win)."""
    header.config_text = text
    cfg = read_config(text)
    if not cfg:
        return

    def put(name: str, paths: tuple[str, ...], conv=_int) -> None:
        value, path = _first(cfg, paths, conv)
        if value is not None:
            header.set(name, value, f"config: {path}")

    put("batch_size", ("train_dataloader.batch_size", "data.samples_per_gpu", "batch_size"))
    put("accumulative_counts", ("optim_wrapper.accumulative_counts", "accumulative_counts"))
    if header.accumulative_counts is None:
        hook = _get(cfg, "optimizer_config")
        if isinstance(hook, dict) and "Cumulative" in str(hook.get("type", "")):
            put("accumulative_counts", ("optimizer_config.cumulative_iters",))
    put("max_iters", ("train_cfg.max_iters", "runner.max_iters", "total_iters"))
    put("max_epochs", ("train_cfg.max_epochs", "runner.max_epochs", "total_epochs"))
    if header.max_epochs is None and header.max_iters is None:
        put("max_epochs", ("max_epochs",))
    put("train_loop", ("train_cfg.type", "runner.type"), _str)
    loop = header.train_loop
    if loop is None:
        if _get(cfg, "train_cfg.by_epoch") is True or (header.max_epochs and not header.max_iters):
            header.set("train_loop", "EpochBasedTrainLoop", "config: train_cfg.by_epoch / max_epochs")
        elif header.max_iters:
            header.set("train_loop", "IterBasedTrainLoop", "config: train_cfg.max_iters")
        loop = header.train_loop
    if loop is not None:
        # xtuner's TrainLoop turns max_epochs into iterations: an iteration-based loop.
        by_epoch = "Epoch" in loop
        header.set("by_epoch", by_epoch, f"config: loop type {loop}")
    put("sampler", ("train_dataloader.sampler.type", "data.train.sampler.type"), _str)
    put("per_device_batch_size", ("train_dataloader.sampler.per_device_batch_size",))
    put("drop_last", ("train_dataloader.drop_last",), _bool)
    put("log_interval", ("default_hooks.logger.interval", "log_config.interval"))
    put("log_by_epoch", ("log_processor.by_epoch",), _bool)
    put("val_interval", ("train_cfg.val_interval", "evaluation.interval"))
    put("val_begin", ("train_cfg.val_begin",))
    put("checkpoint_interval", ("default_hooks.checkpoint.interval", "checkpoint_config.interval"))
    put("checkpoint_by_epoch", ("default_hooks.checkpoint.by_epoch", "checkpoint_config.by_epoch"), _bool)
    put("work_dir", ("work_dir",), _str)
    put("launcher", ("launcher",), _str)
    gpu_ids = _get(cfg, "gpu_ids")
    if isinstance(gpu_ids, list) and gpu_ids and header.distributed:
        header.set("world_size", len(gpu_ids), "config: gpu_ids (mmcv sets range(world_size))")
    elif isinstance(gpu_ids, list) and len(gpu_ids) == 1 and header.distributed is False:
        header.set("world_size", 1, "config: gpu_ids, Distributed training: False")
