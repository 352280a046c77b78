"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and proof verification.

Hashing follows RFC 9162 section 2.1: SHA-256 with domain separation between leaves (prefix 0x00) and
interior nodes (prefix 0x01), so that a leaf can never be passed off as an interior node.

Storage model: the ledger persists the hash of every *perfect* subtree, addressed as ``(level, index)``:
the node covering leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes.
Perfect subtrees never change once their last leaf exists, so they can be written once at append time
and never updated. Any Merkle Tree Hash the RFC needs (a root, or an element of an inclusion or
consistency proof) is the MTH of a contiguous, suitably aligned leaf range, and that MTH is a right fold
of a handful of perfect subtrees (the binary decomposition of the range length). The ``*_plan``
functions compute which stored nodes are needed, so a proof costs one batched fetch and O(log^2 n)
hashing, never a tree rebuild.

Generation functions raise ``ValueError`` for impossible requests (index beyond size, ...) and
``LookupError`` when a node source lacks a node it should have. Verification functions raise
``ProofError`` and nothing else for any proof that must be rejected.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeAlias

from ledger.errors import LedgerError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "MemoryTree",
    "Node",
    "NodeSource",
    "ProofError",
    "consistency_plan",
    "consistency_proof",
    "fold",
    "gap_plan",
    "inclusion_plan",
    "inclusion_proof",
    "leaf_hash",
    "leaves_plan",
    "multi_inclusion_proof",
    "node_hash",
    "prove_leaves",
    "range_plan",
    "root_from_multi_proof",
    "root_of",
    "root_plan",
    "root_with_leaves",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
    "verify_multi_inclusion",
]

HASH_SIZE = 32

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

Node: TypeAlias = tuple[int, int]
"""A perfect subtree ``(level, index)`` covering leaves ``[index * 2**level, (index + 1) * 2**level)``."""


class ProofError(LedgerError):
    """A Merkle inclusion or consistency proof failed verification; the message says which check."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The RFC's k: the largest power of two strictly smaller than ``n`` (requires n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) computed directly from the RFC 9162 recursive definition, entirely in memory.

    Deliberately independent of the plan/fold machinery so tests can use it as a reference.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


def range_plan(start: int, end: int) -> list[Node]:
    """The perfect subtrees whose fold is MTH(D[start:end]), left to right, strictly decreasing size.

    MTH splits a list at the largest power of two below its length, so the MTH of a range is the right
    fold of the blocks of its length's binary decomposition, largest first. Those blocks are stored
    nodes only if ``start`` is a multiple of the largest block; every range occurring in an RFC 9162
    proof or root satisfies this, and anything else is rejected with ``ValueError``.
    """
    if start < 0 or end < start:
        raise ValueError(f"invalid leaf range [{start}, {end})")
    length = end - start
    if length == 0:
        return []
    top = length.bit_length() - 1
    if start % (1 << top):
        raise ValueError(
            f"leaf range [{start}, {end}) is not aligned: start must be a multiple of {1 << top} "
            "for its MTH to be a fold of stored perfect subtrees"
        )
    plan: list[Node] = []
    offset = start
    for level in range(top, -1, -1):
        if length >> level & 1:
            plan.append((level, offset >> level))
            offset += 1 << level
    return plan


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its ``range_plan``: node(h0, node(h1, ... node(hn-2, hn-1)))."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_plan(size: int) -> list[Node]:
    """The perfect subtrees whose fold is the root of a tree of ``size`` leaves (its right frontier)."""
    if size < 0:
        raise ValueError(f"tree size must be non-negative, got {size}")
    return range_plan(0, size)


def inclusion_plan(index: int, size: int) -> list[list[Node]]:
    """For PATH(index, D[size]) (RFC 9162 2.1.3.1): one ``range_plan`` per proof element, in proof order."""
    return [range_plan(lo, hi) for lo, hi in _sibling_ranges(index, size)]


def _sibling_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [lo, hi) whose MTHs are PATH(index, D[size]), in proof order (as `inclusion_plan`)."""
    if size < 0 or index < 0:
        raise ValueError(f"leaf index and tree size must be non-negative, got index={index} size={size}")
    if index >= size:
        raise ValueError(f"leaf index {index} is not below tree size {size}")
    # Walk down from the root collecting siblings; the RFC lists them leaf-first, hence the reversal.
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_plan(old: int, new: int) -> list[list[Node]]:
    """For PROOF(old, D[new]) = SUBPROOF(old, D[new], true) (RFC 9162 2.1.4.1), one ``range_plan`` per
    proof element, in proof order.

    ``old == new`` gives an empty proof. ``old == 0`` is rejected: RFC 9162 calls a proof from the empty
    tree useless and the reference verifier (and this module's) rejects every one, so none is produced.
    """
    if old < 0 or new < 0:
        raise ValueError(f"tree sizes must be non-negative, got old={old} new={new}")
    if old > new:
        raise ValueError(f"old tree size {old} exceeds new tree size {new}")
    if old == 0:
        raise ValueError("a consistency proof from the empty tree (old size 0) is meaningless")
    # Iterative SUBPROOF: descend collecting the sibling of each step; the recursion emits the deepest
    # element first, so the siblings are reversed after the (optional) base-case element.
    siblings: list[list[Node]] = []
    base: list[list[Node]] = []
    m, lo, hi, b = old, 0, new, True
    while True:
        n = hi - lo
        if m == n:
            if not b:
                base.append(range_plan(lo, hi))
            break
        k = _split(n)
        if m <= k:
            siblings.append(range_plan(lo + k, hi))
            hi = lo + k
        else:
            siblings.append(range_plan(lo, lo + k))
            m -= k
            lo += k
            b = False
    siblings.reverse()
    return base + siblings


class NodeSource(Protocol):
    """Anything that can hand out stored perfect-subtree hashes."""

    def get_nodes(self, nodes: Sequence[Node]) -> dict[Node, bytes]:
        """Hashes of the requested nodes, fetched as one batch (one DB query in production).

        Nodes the source does not have are left out of the result rather than raising.
        """
        ...


def _fetch(src: NodeSource, plans: Iterable[Sequence[Node]]) -> dict[Node, bytes]:
    # Deduplicate so the source sees each node once and the whole proof is one round trip.
    wanted = list(dict.fromkeys(node for plan in plans for node in plan))
    if not wanted:
        return {}
    got = src.get_nodes(wanted)
    missing = [node for node in wanted if node not in got]
    if missing:
        raise LookupError(f"node source lacks perfect subtree(s) (level, index): {missing}")
    return got


def _build(src: NodeSource, plans: list[list[Node]]) -> list[bytes]:
    got = _fetch(src, plans)
    return [fold([got[node] for node in plan]) for plan in plans]


def inclusion_proof(src: NodeSource, index: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof for leaf ``index`` (0-based) in the tree of the first ``size`` leaves."""
    return _build(src, inclusion_plan(index, size))


def consistency_proof(src: NodeSource, old: int, new: int) -> list[bytes]:
    """The RFC 9162 consistency proof between tree sizes ``old`` and ``new`` (0 < old <= new)."""
    return _build(src, consistency_plan(old, new))


def tree_root(src: NodeSource, size: int) -> bytes:
    """MTH of the first ``size`` leaves, from at most log2(size) + 1 stored nodes."""
    plan = root_plan(size)
    got = _fetch(src, [plan])
    return fold([got[node] for node in plan])


def root_with_leaves(src: NodeSource, leaves: Mapping[int, bytes], size: int) -> bytes:
    """MTH of the first ``size`` leaves from the given leaf hashes (by index) and, for every range holding
    none of them, the source's stored nodes (``leaves_plan``): one batched fetch, each interior node hashed
    once.

    It equals a signed root only if the given leaves are the signed ones, whatever the source holds (a
    forged stored node changes the result like a forged leaf): so a reader can authenticate the entries it
    read, a few or many, without trusting the derived node table."""
    indices = sorted(leaves)
    if size == 0 and not indices:
        return EMPTY_ROOT
    steps, gaps = _walk(indices, size)
    return _fold_walk(steps, leaves, _gap_hashes(src, gaps))


def multi_inclusion_proof(src: NodeSource, indices: Iterable[int], size: int) -> list[bytes]:
    """One proof that many leaves are in the tree of ``size`` leaves: the MTH of each range the RFC's split
    reaches that holds none of them (``_walk``'s gaps), in the order a bottom-up fold uses them. For one
    leaf it is that leaf's RFC 9162 inclusion proof.

    With the leaves' own hashes these rebuild the root, each interior node once (``root_from_multi_proof``):
    it proves what the leaves' separate RFC 9162 inclusion proofs would, but a node the proofs share is sent
    once, and a run of adjacent leaves needs no node inside it. A statement bundle proves tens of thousands
    of leaves that come in runs (a program's patents, a quarter's reports): a few hundred hashes instead of
    twenty per leaf."""
    wanted = sorted(set(indices))
    if not wanted:
        raise ValueError("a multi-leaf inclusion proof needs at least one leaf")
    _steps, gaps = _walk(wanted, size)
    return _gap_hashes(src, gaps)


def prove_leaves(src: NodeSource, leaves: Mapping[int, bytes], size: int) -> tuple[list[bytes], bytes]:
    """``multi_inclusion_proof`` of the leaves and the root it yields with their hashes, from one walk: the
    prover compares that root with the signed one, so a stored leaf or node that is not the signed one is
    caught before the proof goes out."""
    if not leaves:
        raise ValueError("a multi-leaf inclusion proof needs at least one leaf")
    steps, gaps = _walk(sorted(leaves), size)
    proof = _gap_hashes(src, gaps)
    return proof, _fold_walk(steps, leaves, proof)


def root_from_multi_proof(leaves: Mapping[int, bytes], size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``leaves`` (leaf hashes by 0-based index) and a ``multi_inclusion_proof`` yield for a
    tree of ``size`` leaves; compare it with the signed root. Raises ``ProofError`` for a malformed proof
    (wrong number of hashes, a hash of the wrong length, a leaf outside the tree)."""
    if size <= 0 or not leaves:
        raise ProofError(f"a multi-leaf proof needs leaves and a non-empty tree, got {len(leaves)} in {size}")
    indices = sorted(leaves)
    if indices[0] < 0 or indices[-1] >= size:
        raise ProofError(f"leaf indices must be in [0, {size}), got {indices[0]}..{indices[-1]}")
    for index in indices:
        _check_hash(f"leaf hash {index}", leaves[index])
    _check_proof_hashes(proof)
    steps, gaps = _walk(indices, size)
    if len(gaps) != len(proof):
        raise ProofError(
            f"multi-leaf proof has {len(proof)} hashes, {len(leaves)} leaves in a tree of size {size} need "
            f"{len(gaps)}"
        )
    return _fold_walk(steps, leaves, proof)


def verify_multi_inclusion(
    leaves: Mapping[int, bytes], size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify that every leaf of ``leaves`` is at its index in the tree of ``size`` leaves with ``root``."""
    _check_hash("root", root)
    got = root_from_multi_proof(leaves, size, proof)
    if got != root:
        raise ProofError(
            f"the {len(leaves)} leaves and the multi-leaf proof yield root {got.hex()}, not the expected "
            f"{root.hex()} of the tree of size {size}"
        )


def _gap_hashes(src: NodeSource, gaps: Sequence[tuple[int, int]]) -> list[bytes]:
    plans = [range_plan(lo, hi) for lo, hi in gaps]
    got = _fetch(src, plans)
    return [fold([got[node] for node in plan]) for plan in plans]


def _fold_walk(
    steps: Sequence[tuple[int, int, int, int]], leaves: Mapping[int, bytes], gap_hashes: Sequence[bytes]
) -> bytes:
    # Replays `_walk` bottom-up (children are always recorded after their parent), taking the gaps' hashes
    # in the order `_walk` lists them.
    known: dict[tuple[int, int], bytes] = {}
    gaps = iter(gap_hashes)
    for lo, hi, a, b in reversed(steps):
        if a == b:
            known[(lo, hi)] = next(gaps)
        elif hi - lo == 1:
            known[(lo, hi)] = leaves[lo]
        else:
            mid = lo + _split(hi - lo)
            known[(lo, hi)] = node_hash(known.pop((lo, mid)), known.pop((mid, hi)))
    return known[(steps[0][0], steps[0][1])]


def gap_plan(start: int, end: int) -> list[Node]:
    """The perfect subtrees that bring a compact range of `start` leaves to `end` (`append_subtree`), each
    the largest aligned block that fits: O(log n) nodes for any gap."""
    if not 0 <= start <= end:
        raise ValueError(f"invalid leaf range [{start}, {end})")
    out: list[Node] = []
    while start < end:
        fits = (end - start).bit_length() - 1
        level = min(fits, (start & -start).bit_length() - 1) if start else fits
        out.append((level, start >> level))
        start += 1 << level
    return out


def leaves_plan(indices: Sequence[int], size: int) -> list[Node]:
    """The stored nodes ``root_with_leaves`` reads for these leaf indices: a caller can fetch them together
    with other nodes in one round trip."""
    _steps, gaps = _walk(sorted(indices), size)
    return [node for lo, hi in gaps for node in range_plan(lo, hi)]


def _walk(indices: list[int], size: int) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int]]]:
    """The RFC's split walked down to the ranges without a given leaf (`gaps`, whose MTHs come from stored
    nodes or a multi-leaf proof) and to the given leaves themselves; `steps` records the walk for the hashing
    to replay bottom-up, and `gaps` come in the order that replay meets them. ``indices`` are sorted."""
    if indices and (indices[0] < 0 or indices[-1] >= size):
        raise ValueError(f"leaf indices must be in [0, {size}), got {indices[0]}..{indices[-1]}")
    gaps: list[tuple[int, int]] = []
    steps: list[tuple[int, int, int, int]] = []
    stack = [(0, size, 0, len(indices))] if size else []
    while stack:
        lo, hi, a, b = stack.pop()
        steps.append((lo, hi, a, b))
        if a == b:
            gaps.append((lo, hi))
        elif hi - lo > 1:
            mid = lo + _split(hi - lo)
            m = bisect_left(indices, mid, a, b)
            left, right = (lo, mid, a, m), (mid, hi, m, b)
            # A half without leaves is walked before its sibling, so that replayed backwards (bottom-up)
            # every gap comes after the gaps inside its sibling: for one leaf, the gaps in that order are
            # its RFC 9162 inclusion path.
            stack.extend((right, left) if a == m else (left, right))
    gaps.reverse()  # the order the bottom-up replay meets them
    return steps, gaps


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, expected a {HASH_SIZE}-byte SHA-256 hash")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        _check_hash(f"proof[{i}]", h)


def _inclusion_proof_len(index: int, size: int) -> int:
    # Closed form of len(PATH(index, D[size])): below the level where the paths to `index` and to the
    # last leaf diverge every level has a sibling; above it only left siblings exist. Used for messages.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_proof_len(old: int, new: int) -> int:
    # Closed form of len(PROOF(old, D[new])) for 0 < old < new, for error messages.
    shift = (old & -old).bit_length() - 1
    seeded_by_old_root = old == 1 << shift
    return _inclusion_proof_len(old - 1, new) - shift + (0 if seeded_by_old_root else 1)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Verify that ``leaf`` (a leaf *hash*) is leaf ``index`` (0-based) of the tree of ``size`` leaves
    whose root is ``root``, following RFC 9162 section 2.1.3.2 exactly.

    Raises ``ProofError`` naming the failed check; returns ``None`` on success.
    """
    if index < 0 or size < 0:
        raise ProofError(f"leaf index and tree size must be non-negative, got index={index} size={size}")
    # Step 1.
    if index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    # A correct proof only ever carries SHA-256 outputs; refusing other lengths early gives a precise
    # message instead of an opaque root mismatch.
    _check_hash("leaf hash", leaf)
    _check_hash("root", root)
    _check_proof_hashes(proof)

    # Steps 2-3.
    fn, sn = index, size - 1
    r = leaf
    # Step 4.
    for p in proof:
        if sn == 0:
            raise ProofError(
                f"inclusion proof too long: {len(proof)} hashes given, a proof for leaf {index} "
                f"in a tree of size {size} has {_inclusion_proof_len(index, size)}"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                # On the right border with no right sibling: skip the levels where this node is
                # promoted unchanged.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5.
    if sn != 0:
        raise ProofError(
            f"inclusion proof too short: {len(proof)} hashes given, a proof for leaf {index} "
            f"in a tree of size {size} has {_inclusion_proof_len(index, size)}"
        )
    # Plain comparison is fine: roots and proofs are public, so timing leaks nothing.
    if r != root:
        raise ProofError(
            f"inclusion proof for leaf {index} in a tree of size {size} yields root {r.hex()}, "
            f"not the expected {root.hex()}"
        )


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Verify that the tree of ``new`` leaves with root ``new_root`` extends the tree of ``old`` leaves
    with root ``old_root``, following RFC 9162 section 2.1.4.2 exactly.

    Conventions (matching the transparency-dev/merkle reference and its test vectors): ``old > new`` and
    ``old == 0`` are always rejected (a proof from the empty tree is meaningless, even when new is 0);
    ``old == new`` requires an empty proof and identical roots. Raises ``ProofError``; returns ``None``.
    """
    if _consistency_trivial(old, new, old_root, new_root, proof):
        return
    # Step 1.
    if not proof:
        raise ProofError(f"empty consistency proof between different tree sizes {old} and {new}")
    _check_proof_hashes(proof)
    fr, sr = _consistency_roots(old, new, old_root, proof)
    if fr != old_root:
        raise ProofError(
            f"consistency proof from size {old} to {new} yields old root {fr.hex()}, "
            f"not the expected {old_root.hex()}"
        )
    if sr != new_root:
        raise ProofError(
            f"consistency proof from size {old} to {new} yields new root {sr.hex()}, "
            f"not the expected {new_root.hex()}"
        )


def _consistency_trivial(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Refuse sizes no proof can join; True when the sizes are equal and the (empty) proof holds."""
    if old < 0 or new < 0:
        raise ProofError(f"tree sizes must be non-negative, got old={old} new={new}")
    if old > new:
        raise ProofError(f"old tree size {old} exceeds new tree size {new}")
    if old == 0:
        raise ProofError(f"consistency proof from the empty tree (old size 0 to {new}) is meaningless")
    if old != new:
        return False
    if proof:
        raise ProofError(f"tree sizes are equal ({old}) so the proof must be empty, got {len(proof)} hashes")
    # Roots are deliberately not length-checked here: with nothing to hash, any two equal
    # commitments are consistent (the reference vectors include such a case).
    if old_root != new_root:
        raise ProofError(
            f"tree sizes are equal ({old}) but roots differ: {old_root.hex()} != {new_root.hex()}"
        )
    return True


def _consistency_roots(old: int, new: int, old_root: bytes, proof: Sequence[bytes]) -> tuple[bytes, bytes]:
    """RFC 9162 2.1.4.2 steps 2-7: the old and new roots the proof yields; ProofError if its length is off."""
    expected_len = _consistency_proof_len(old, new)
    # Step 2: the old tree being one perfect subtree of the new one, its root is the proof's seed.
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    # Steps 3-4.
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError(
                f"consistency proof too long: {len(proof)} hashes given, a proof from size {old} "
                f"to size {new} has {expected_len}"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            # A right sibling only exists in the new tree, so it never contributes to the old root.
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ProofError(
            f"consistency proof too short: {len(proof)} hashes given, a proof from size {old} "
            f"to size {new} has {expected_len}"
        )
    return fr, sr


class MemoryTree:
    """A ``NodeSource`` over an in-memory list of leaf hashes; for tests and small trees.

    Perfect-subtree hashes are computed on demand and cached forever, which is sound because a perfect
    subtree's hash cannot change once all of its leaves exist and leaves are append-only.
    """

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self._leaves: list[bytes] = []
        self._cache: dict[Node, bytes] = {}
        for leaf in leaf_hashes:
            self.append(leaf)

    @property
    def size(self) -> int:
        return len(self._leaves)

    def append(self, leaf: bytes) -> None:
        """Append a leaf *hash* (not leaf data)."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf)} bytes, expected {HASH_SIZE}")
        self._leaves.append(bytes(leaf))

    def _node(self, level: int, index: int) -> bytes:
        if level == 0:
            return self._leaves[index]
        key = (level, index)
        cached = self._cache.get(key)
        if cached is None:
            cached = node_hash(self._node(level - 1, 2 * index), self._node(level - 1, 2 * index + 1))
            self._cache[key] = cached
        return cached

    def get_nodes(self, nodes: Sequence[Node]) -> dict[Node, bytes]:
        """Hashes of the requested perfect subtrees; nodes not (yet) complete are left out."""
        out: dict[Node, bytes] = {}
        size = len(self._leaves)
        for level, index in nodes:
            if level >= 0 and index >= 0 and (index + 1) << level <= size:
                out[(level, index)] = self._node(level, index)
        return out


class CompactRange:
    """The right frontier of perfect subtrees of a tree of `size` leaves: what an append needs, O(log n)."""

    def __init__(self, size: int, frontier: Sequence[bytes]) -> None:
        """``frontier`` holds the hashes of the nodes of ``root_plan(size)``, left to right."""
        if size < 0:
            raise ValueError(f"tree size must be non-negative, got {size}")
        expected = size.bit_count()
        if len(frontier) != expected:
            raise ValueError(
                f"a tree of size {size} has {expected} frontier nodes {root_plan(size)}, "
                f"got {len(frontier)} hashes"
            )
        for i, h in enumerate(frontier):
            if len(h) != HASH_SIZE:
                raise ValueError(f"frontier[{i}] is {len(h)} bytes, expected {HASH_SIZE}")
        self._size = size
        self._frontier: list[bytes] = [bytes(h) for h in frontier]

    @classmethod
    def empty(cls) -> CompactRange:
        return cls(0, ())

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> list[bytes]:
        """A copy of the frontier hashes, aligned with ``frontier_nodes()``; what to persist."""
        return list(self._frontier)

    def frontier_nodes(self) -> list[Node]:
        return root_plan(self._size)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append a leaf *hash*; return every perfect node it completes as (level, index, hash),
        starting with the leaf itself at level 0 and ending with the largest."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf)} bytes, expected {HASH_SIZE}")
        size = self._size
        level, index, h = 0, size, bytes(leaf)
        created = [(level, index, h)]
        # Like incrementing a binary counter: each trailing 1 bit of `size` is a frontier node of that
        # level which the new node now completes into a parent one level up.
        while size >> level & 1:
            h = node_hash(self._frontier.pop(), h)
            level += 1
            index >>= 1
            created.append((level, index, h))
        self._frontier.append(h)
        self._size = size + 1
        return created

    def append_subtree(self, level: int, h: bytes) -> None:
        """Append the hash of a perfect subtree of 2**level leaves that starts at the current size (a multiple
        of 2**level): leaves a reader did not read, taken from stored nodes (see `gap_plan`)."""
        size = self._size
        if level < 0 or size % (1 << level) or len(h) != HASH_SIZE:
            raise ValueError(f"a subtree of level {level} cannot follow {size} leaves")
        start = level
        while size >> level & 1:  # as for a leaf: each set bit from `level` up merges with the frontier
            h = node_hash(self._frontier.pop(), h)
            level += 1
        self._frontier.append(bytes(h))
        self._size = size + (1 << start)

    def root(self) -> bytes:
        return fold(self._frontier)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"
