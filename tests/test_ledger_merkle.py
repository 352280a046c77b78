"""Tests for ledger.merkle: RFC 9162 test vectors, known answers, and property tests."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryTree,
    Node,
    ProofError,
    consistency_plan,
    consistency_proof,
    fold,
    gap_plan,
    inclusion_plan,
    inclusion_proof,
    leaf_hash,
    multi_inclusion_proof,
    node_hash,
    prove_leaves,
    range_plan,
    root_from_multi_proof,
    root_of,
    root_plan,
    root_with_leaves,
    tree_root,
    verify_consistency,
    verify_inclusion,
    verify_multi_inclusion,
)

VECTORS_DIR = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "rfc9162"
VECTOR_FILES = sorted(VECTORS_DIR.rglob("*.json")) if VECTORS_DIR.is_dir() else []

# The eight-leaf tree from RFC 6962's reference tests, which the transparency-dev vectors are drawn from.
RFC6962_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
RFC6962_HASHES = [leaf_hash(d) for d in RFC6962_LEAVES]

FAST = settings(max_examples=60, deadline=None)


def make_leaves(seed: int, size: int) -> list[bytes]:
    # Derived rather than drawn: drawing hundreds of byte strings per example is what makes
    # Hypothesis slow, and distinct seeded leaves are just as good for Merkle properties.
    prefix = seed.to_bytes(8, "big")
    return [leaf_hash(prefix + i.to_bytes(8, "big")) for i in range(size)]


def flip_bit(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


# Independent model of proof shapes, following the closed form of transparency-dev/merkle's verifier
# (decompInclProof) rather than the RFC's loop: 1 means "sibling on the left". Two parameter sets with
# the same shape hash a proof identically, so a proof for one must verify under the other and must fail
# under any parameters with a different shape.
def inclusion_shape(index: int, size: int) -> tuple[int, ...] | None:
    if not 0 <= index < size:
        return None
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return tuple(index >> i & 1 for i in range(inner)) + (1,) * border


def consistency_shape(old: int, new: int) -> tuple[bool, tuple[int, ...]] | None:
    if not 0 < old < new:
        return None
    shift = (old & -old).bit_length() - 1
    inner = ((old - 1) ^ (new - 1)).bit_length() - shift
    border = ((old - 1) >> (inner + shift)).bit_count()
    mask = (old - 1) >> shift
    return old == 1 << shift, tuple(mask >> i & 1 for i in range(inner)) + (1,) * border


# --- RFC 9162 vectors ---------------------------------------------------------------------------------


def _b64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def _run_vector(case: dict[str, Any]) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    if "leafIdx" in case:
        verify_inclusion(_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
    elif "size1" in case:
        verify_consistency(case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof)
    else:
        pytest.fail(f"unrecognised vector fields: {sorted(case)}")


@pytest.mark.parametrize(
    "path",
    VECTOR_FILES or [None],
    ids=[p.relative_to(VECTORS_DIR).as_posix() for p in VECTOR_FILES] or ["vectors-missing"],
)
def test_rfc9162_vector(path: Path | None) -> None:
    if path is None:
        if VECTORS_DIR.exists():
            pytest.fail(f"{VECTORS_DIR} exists but holds no JSON vectors")
        pytest.skip(f"RFC 9162 test vectors not found at {VECTORS_DIR} (expected ../shared next to the repo)")
    case = json.loads(path.read_text())
    if case["wantErr"]:
        with pytest.raises(ProofError):
            _run_vector(case)
    else:
        _run_vector(case)


@pytest.mark.parametrize(
    "path",
    [p for p in VECTOR_FILES if "inclusion" in p.as_posix()] or [None],
    ids=[p.relative_to(VECTORS_DIR).as_posix() for p in VECTOR_FILES if "inclusion" in p.as_posix()]
    or ["vectors-missing"],
)
def test_rfc9162_inclusion_vector_as_a_multi_leaf_proof(path: Path | None) -> None:
    """A one-leaf multi-leaf proof is the leaf's RFC 9162 inclusion proof: the vectors hold for it too."""
    if path is None:
        pytest.skip(f"RFC 9162 test vectors not found at {VECTORS_DIR} (expected ../shared next to the repo)")
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]

    def run() -> None:
        leaf = {case["leafIdx"]: _b64(case["leafHash"])}
        verify_multi_inclusion(leaf, case["treeSize"], proof, _b64(case["root"]))

    if case["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


def test_vectors_happy_paths_are_regenerated_exactly() -> None:
    """Generation reproduces, byte for byte, the happy-path proofs of vectors built on the RFC 6962 tree."""
    if not VECTOR_FILES:
        pytest.skip(f"RFC 9162 test vectors not found at {VECTORS_DIR}")
    roots = {n: root_of(RFC6962_HASHES[:n]) for n in range(1, 9)}
    tree = MemoryTree(RFC6962_HASHES)
    checked = 0
    for path in VECTOR_FILES:
        case = json.loads(path.read_text())
        if case["wantErr"]:
            continue
        want = [_b64(p) for p in case["proof"] or []]
        if "leafIdx" in case and roots.get(case["treeSize"]) == _b64(case["root"]):
            assert _b64(case["leafHash"]) == RFC6962_HASHES[case["leafIdx"]], path
            assert inclusion_proof(tree, case["leafIdx"], case["treeSize"]) == want, path
            checked += 1
        elif "size1" in case and roots.get(case["size2"]) == _b64(case["root2"]):
            assert roots[case["size1"]] == _b64(case["root1"]), path
            assert consistency_proof(tree, case["size1"], case["size2"]) == want, path
            checked += 1
    assert checked >= 10


# --- known answers and basics ------------------------------------------------------------------------


def test_known_answers() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert node_hash(b"L", b"R") == hashlib.sha256(b"\x01LR").digest()
    assert root_of([]) == EMPTY_ROOT
    assert root_of(RFC6962_HASHES).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert tree_root(MemoryTree(), 0) == EMPTY_ROOT
    assert CompactRange.empty().root() == EMPTY_ROOT


def test_range_plan_examples() -> None:
    assert range_plan(0, 0) == []
    assert range_plan(5, 5) == []
    assert range_plan(0, 1) == [(0, 0)]
    assert range_plan(0, 8) == [(3, 0)]
    assert range_plan(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert range_plan(8, 13) == [(2, 2), (0, 12)]
    assert root_plan(13) == [(3, 0), (2, 2), (0, 12)]
    assert fold([b"x"]) == b"x"
    assert fold([b"a", b"b", b"c"]) == node_hash(b"a", node_hash(b"b", b"c"))


@pytest.mark.parametrize(("start", "end"), [(1, 3), (2, 6), (4, 12), (-1, 2), (3, 2)])
def test_range_plan_rejects_unaligned_or_invalid(start: int, end: int) -> None:
    with pytest.raises(ValueError):
        range_plan(start, end)


@FAST
@given(seed=st.integers(0, 2**32), length=st.integers(1, 200), slot=st.integers(0, 3))
def test_range_plan_fold_is_mth(seed: int, length: int, slot: int) -> None:
    start = slot * (1 << (length.bit_length() - 1))
    leaves = make_leaves(seed, start + length)
    tree = MemoryTree(leaves)
    plan = range_plan(start, start + length)
    sizes = [1 << level for level, _ in plan]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    got = tree.get_nodes(plan)
    assert fold([got[n] for n in plan]) == root_of(leaves[start : start + length])


def test_generation_argument_checks() -> None:
    for index, size in [(0, 0), (3, 3), (5, 2), (-1, 4)]:
        with pytest.raises(ValueError):
            inclusion_plan(index, size)
    for old, new in [(0, 0), (0, 5), (4, 3), (-1, 2)]:
        with pytest.raises(ValueError):
            consistency_plan(old, new)
    with pytest.raises(ValueError):
        root_plan(-1)
    assert inclusion_plan(0, 1) == []
    assert consistency_plan(7, 7) == []


def _all_perfect_nodes(size: int) -> set[Node]:
    return {(level, i) for level in range(size.bit_length()) for i in range(size >> level)}


def test_plans_only_use_existing_nodes_and_have_rfc_lengths() -> None:
    for size in range(1, 70):
        existing = _all_perfect_nodes(size)
        for index in range(size):
            plan = inclusion_plan(index, size)
            assert len(plan) == len(inclusion_shape(index, size) or ())
            assert all(set(p) <= existing and p for p in plan)
        for old in range(1, size):
            plan = consistency_plan(old, size)
            shape = consistency_shape(old, size)
            assert shape is not None
            assert len(plan) == (0 if shape[0] else 1) + len(shape[1])
            assert all(set(p) <= existing and p for p in plan)


def test_exhaustive_small_trees() -> None:
    leaves = make_leaves(7, 40)
    tree = MemoryTree(leaves)
    roots = [root_of(leaves[:n]) for n in range(41)]
    for size in range(1, 41):
        assert tree_root(tree, size) == roots[size]
        for index in range(size):
            verify_inclusion(leaves[index], index, size, inclusion_proof(tree, index, size), roots[size])
        for old in range(1, size + 1):
            verify_consistency(old, size, roots[old], roots[size], consistency_proof(tree, old, size))


class CountingSource:
    def __init__(self, inner: MemoryTree) -> None:
        self.inner = inner
        self.calls: list[list[Node]] = []

    def get_nodes(self, nodes: Sequence[Node]) -> dict[Node, bytes]:
        self.calls.append(list(nodes))
        return self.inner.get_nodes(nodes)


def test_proofs_fetch_in_one_batch_without_duplicates() -> None:
    src = CountingSource(MemoryTree(make_leaves(1, 300)))
    inclusion_proof(src, 137, 300)
    consistency_proof(src, 37, 300)
    tree_root(src, 300)
    assert len(src.calls) == 3
    assert all(len(c) == len(set(c)) for c in src.calls)
    inclusion_proof(src, 0, 1)
    consistency_proof(src, 5, 5)
    assert len(src.calls) == 3  # nothing to fetch, so no round trip


def test_missing_nodes_raise_lookup_error() -> None:
    small = MemoryTree(make_leaves(1, 5))
    with pytest.raises(LookupError, match="lacks"):
        inclusion_proof(small, 2, 9)
    with pytest.raises(LookupError):
        tree_root(small, 6)
    assert small.get_nodes([(3, 0), (0, 5), (-1, 0)]) == {}


def test_verifier_input_checks() -> None:
    leaves = make_leaves(3, 6)
    tree = MemoryTree(leaves)
    root = root_of(leaves)
    proof = inclusion_proof(tree, 2, 6)
    cases: list[tuple[bytes, int, int, list[bytes], bytes, str]] = [
        (leaves[2], 6, 6, proof, root, "not below tree size"),
        (leaves[2], -1, 6, proof, root, "non-negative"),
        (leaves[2][:31], 2, 6, proof, root, "leaf hash is 31 bytes"),
        (leaves[2], 2, 6, proof, root[:16], "root is 16 bytes"),
        (leaves[2], 2, 6, [*proof[:1], b"", *proof[2:]], root, r"proof\[1\] is 0 bytes"),
        (leaves[2], 2, 6, proof[:-1], root, "too short"),
        (leaves[2], 2, 6, [*proof, root], root, "too long"),
        (leaves[3], 2, 6, proof, root, "yields root"),
    ]
    for leaf, index, size, prf, rt, msg in cases:
        with pytest.raises(ProofError, match=msg):
            verify_inclusion(leaf, index, size, prf, rt)

    old_root = root_of(leaves[:3])
    cproof = consistency_proof(tree, 3, 6)
    ccases: list[tuple[int, int, bytes, bytes, list[bytes], str]] = [
        (4, 3, root, old_root, [], "exceeds"),
        (0, 6, EMPTY_ROOT, root, [], "empty tree"),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], "empty tree"),
        (3, 3, old_root, old_root, cproof, "must be empty"),
        (3, 3, old_root, root, [], "roots differ"),
        (3, 6, old_root, root, [], "empty consistency proof"),
        (3, 6, old_root, root, cproof[:-1], "too short"),
        (3, 6, old_root, root, [*cproof, root], "too long"),
        (3, 6, root, root, cproof, "yields old root"),
        (3, 6, old_root, old_root, cproof, "yields new root"),
    ]
    for old, new, r1, r2, prf, msg in ccases:
        with pytest.raises(ProofError, match=msg):
            verify_consistency(old, new, r1, r2, prf)
    verify_consistency(3, 3, old_root, old_root, [])


# --- properties over random trees --------------------------------------------------------------------

sizes = st.integers(1, 300)
seeds = st.integers(0, 2**32)


@FAST
@given(seed=seeds, size=sizes, data=st.data())
def test_inclusion_proofs_verify_and_mutations_fail(seed: int, size: int, data: st.DataObject) -> None:
    leaves = make_leaves(seed, size)
    tree = MemoryTree(leaves)
    root = root_of(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(tree, index, size)
    verify_inclusion(leaves[index], index, size, proof, root)
    assert tree_root(tree, size) == root

    if proof:
        pos = data.draw(st.integers(0, len(proof) - 1), label="pos")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = list(proof)
        bad[pos] = flip_bit(bad[pos], bit)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, bad, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, proof[:-1], root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, proof[1:], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, size, [*proof, leaves[0]], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, size, [leaves[0], *proof], root)
    with pytest.raises(ProofError):
        verify_inclusion(flip_bit(leaves[index], data.draw(st.integers(0, 255))), index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, size, proof, flip_bit(root, data.draw(st.integers(0, 255))))

    other = data.draw(st.integers(0, size + 1), label="other index")
    mutations = [(index - 1, size), (index + 1, size), (other, size), (index, size - 1), (index, size + 1)]
    for idx, sz in mutations:
        if (idx, sz) == (index, size):
            continue
        shape = inclusion_shape(idx, sz)
        if shape is not None and shape == inclusion_shape(index, size):
            # Same hashing schedule, so the claim is indistinguishable: RFC proofs don't bind the size.
            verify_inclusion(leaves[index], idx, sz, proof, root)
        else:
            with pytest.raises(ProofError):
                verify_inclusion(leaves[index], idx, sz, proof, root)


@FAST
@given(seed=seeds, size=sizes, data=st.data())
def test_consistency_proofs_verify_and_mutations_fail(seed: int, size: int, data: st.DataObject) -> None:
    leaves = make_leaves(seed, size)
    tree = MemoryTree(leaves)
    new = size
    old = data.draw(st.integers(1, new), label="old")
    old_root, new_root = root_of(leaves[:old]), root_of(leaves)
    proof = consistency_proof(tree, old, new)
    verify_consistency(old, new, old_root, new_root, proof)

    with pytest.raises(ProofError):
        verify_consistency(old, new, flip_bit(old_root, data.draw(st.integers(0, 255))), new_root, proof)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, flip_bit(new_root, data.draw(st.integers(0, 255))), proof)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, [*proof, leaves[0]])
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, [leaves[0], *proof])
    with pytest.raises(ProofError):
        verify_consistency(0, new, EMPTY_ROOT, new_root, proof)
    if old == new:
        assert proof == []
        return
    with pytest.raises(ProofError):
        verify_consistency(new, old, new_root, old_root, proof)

    pos = data.draw(st.integers(0, len(proof) - 1), label="pos")
    bit = data.draw(st.integers(0, 255), label="bit")
    bad = list(proof)
    bad[pos] = flip_bit(bad[pos], bit)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, bad)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, proof[:-1])
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, proof[1:])

    for o, n in [(old - 1, new), (old + 1, new), (old, new - 1), (old, new + 1)]:
        shape = consistency_shape(o, n)
        if shape is not None and shape == consistency_shape(old, new):
            # Same hashing schedule: e.g. a 4 -> 8 proof is also a valid-looking 4 -> 7 proof.
            verify_consistency(o, n, old_root, new_root, proof)
        else:
            with pytest.raises(ProofError):
                verify_consistency(o, n, old_root, new_root, proof)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, size=sizes)
def test_compact_range_matches_memory_tree(seed: int, size: int) -> None:
    leaves = make_leaves(seed, size)
    tree = MemoryTree(leaves)
    cr = CompactRange.empty()
    created: list[Node] = []
    for i, leaf in enumerate(leaves):
        new_nodes = cr.append(leaf)
        assert new_nodes[0] == (0, i, leaf)
        assert [lvl for lvl, _, _ in new_nodes] == list(range(len(new_nodes)))
        got = tree.get_nodes([(lvl, idx) for lvl, idx, _ in new_nodes])
        assert all(got[(lvl, idx)] == h for lvl, idx, h in new_nodes)
        created += [(lvl, idx) for lvl, idx, _ in new_nodes]
        assert cr.size == i + 1
        assert cr.root() == root_of(leaves[: i + 1])
    assert len(created) == len(set(created))
    assert set(created) == _all_perfect_nodes(size)
    assert cr.frontier_nodes() == root_plan(size)
    nodes = tree.get_nodes(root_plan(size))
    assert cr.frontier == [nodes[n] for n in root_plan(size)]


@FAST
@given(seed=seeds, size=st.integers(0, 200), extra=st.integers(1, 40))
def test_compact_range_resumes_from_stored_frontier(seed: int, size: int, extra: int) -> None:
    leaves = make_leaves(seed, size + extra)
    tree = MemoryTree(leaves)
    plan = root_plan(size)
    stored = tree.get_nodes(plan)
    cr = CompactRange(size, [stored[n] for n in plan])
    assert cr.root() == tree_root(tree, size)
    for leaf in leaves[size:]:
        cr.append(leaf)
    assert cr.size == size + extra
    assert cr.root() == root_of(leaves)


def test_compact_range_and_memory_tree_validation() -> None:
    h = leaf_hash(b"x")
    with pytest.raises(ValueError, match="frontier nodes"):
        CompactRange(3, [h])
    with pytest.raises(ValueError, match="frontier nodes"):
        CompactRange(0, [h])
    with pytest.raises(ValueError, match="bytes"):
        CompactRange(2, [b"short"])
    with pytest.raises(ValueError):
        CompactRange(-1, [])
    with pytest.raises(ValueError):
        CompactRange.empty().append(b"short")
    with pytest.raises(ValueError):
        MemoryTree([b"short"])
    tree = MemoryTree()
    tree.append(h)
    assert tree.size == 1
    assert tree.get_nodes([(0, 0)]) == {(0, 0): h}


@FAST
@given(seed=seeds, size=sizes, data=st.data())
def test_root_with_leaves_is_the_root_and_any_forgery_changes_it(
    seed: int, size: int, data: st.DataObject
) -> None:
    leaves = make_leaves(seed, size)
    tree = MemoryTree(leaves)
    given_at = data.draw(st.sets(st.integers(0, size - 1))) if size else set()
    known = {i: leaves[i] for i in given_at}
    src = CountingSource(tree)
    assert root_with_leaves(src, known, size) == root_of(leaves)
    assert len(src.calls) <= 1 and all(len(c) == len(set(c)) for c in src.calls)
    if known:
        # A forged leaf read, or a forged stored node vouching for the rest, gives another root.
        forged = dict(known)
        at = data.draw(st.sampled_from(sorted(known)))
        forged[at] = hashlib.sha256(forged[at]).digest()
        assert root_with_leaves(tree, forged, size) != root_of(leaves)
    if len(known) < size:
        missing = next(i for i in range(size) if i not in known)

        class Forging:
            def get_nodes(self, wanted: Sequence[Node]) -> dict[Node, bytes]:
                got = tree.get_nodes(wanted)
                return {
                    n: (hashlib.sha256(h).digest() if n[1] << n[0] <= missing < (n[1] + 1) << n[0] else h)
                    for n, h in got.items()
                }

        assert root_with_leaves(Forging(), known, size) != root_of(leaves)


@FAST
@given(seed=seeds, size=sizes, data=st.data())
def test_multi_leaf_proof_rebuilds_the_root_and_any_forgery_fails(
    seed: int, size: int, data: st.DataObject
) -> None:
    leaves = make_leaves(seed, size)
    tree = MemoryTree(leaves)
    at = data.draw(st.sets(st.integers(0, size - 1), min_size=1))
    known = {i: leaves[i] for i in at}
    root = root_of(leaves)
    src = CountingSource(tree)
    proof = multi_inclusion_proof(src, at, size)
    assert len(src.calls) <= 1
    assert prove_leaves(tree, known, size) == (proof, root)
    verify_multi_inclusion(known, size, proof, root)
    # Never longer than the leaves' separate proofs together, and one leaf's is its RFC 9162 proof.
    assert len(proof) <= sum(len(inclusion_proof(tree, i, size)) for i in at)
    if len(at) == 1:
        assert proof == inclusion_proof(tree, next(iter(at)), size)
    # A forged leaf, another leaf's place, a forged, dropped, added or reordered proof hash: rejected.
    index = data.draw(st.sampled_from(sorted(known)))
    forged = dict(known)
    forged[index] = hashlib.sha256(forged[index]).digest()
    with pytest.raises(ProofError):
        verify_multi_inclusion(forged, size, proof, root)
    elsewhere = [i for i in range(size) if i not in known and leaves[i] != leaves[index]]
    if elsewhere:
        moved = {i: h for i, h in known.items() if i != index}
        moved[data.draw(st.sampled_from(elsewhere))] = known[index]
        with pytest.raises(ProofError):
            verify_multi_inclusion(moved, size, proof, root)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = hashlib.sha256(bad[k]).digest()
        for mangled in (bad, proof[:-1], [*proof, proof[0]]):
            with pytest.raises(ProofError):
                verify_multi_inclusion(known, size, mangled, root)
        if len(set(proof)) > 1:
            with pytest.raises(ProofError):
                verify_multi_inclusion(known, size, proof[::-1], root)
    with pytest.raises(ProofError):
        verify_multi_inclusion(known, size, proof, hashlib.sha256(root).digest())


def test_multi_leaf_proof_of_runs_is_short() -> None:
    # A run of adjacent leaves needs no node inside it: what keeps a statement bundle's proof small.
    size = 100_000
    tree = MemoryTree(make_leaves(7, size))
    run = range(20_000, 40_000)
    proof = multi_inclusion_proof(tree, run, size)
    assert len(proof) <= 2 * size.bit_length()
    verify_multi_inclusion(
        {i: tree.get_nodes([(0, i)])[(0, i)] for i in run}, size, proof, tree_root(tree, size)
    )


def test_multi_leaf_proof_argument_checks() -> None:
    tree = MemoryTree(make_leaves(1, 4))
    root = tree_root(tree, 4)
    leaf = tree.get_nodes([(0, 1)])[(0, 1)]
    with pytest.raises(ValueError, match="at least one leaf"):
        multi_inclusion_proof(tree, [], 4)
    with pytest.raises(ValueError, match="leaf indices"):
        multi_inclusion_proof(tree, [4], 4)
    for leaves, size in (({}, 4), ({1: leaf}, 0), ({4: leaf}, 4), ({-1: leaf}, 4)):
        with pytest.raises(ProofError):
            root_from_multi_proof(leaves, size, [])
    with pytest.raises(ProofError, match="32-byte"):
        verify_multi_inclusion({1: leaf}, 4, [b"short", b"x" * 32], root)
    with pytest.raises(ProofError, match="32-byte"):
        verify_multi_inclusion({1: b"short"}, 4, multi_inclusion_proof(tree, [1], 4), root)


def test_root_with_leaves_argument_checks() -> None:
    tree = MemoryTree(make_leaves(1, 4))
    assert root_with_leaves(tree, {}, 0) == EMPTY_ROOT
    with pytest.raises(ValueError, match="leaf indices"):
        root_with_leaves(tree, {4: b"x" * 32}, 4)
    with pytest.raises(LookupError):
        root_with_leaves(MemoryTree(make_leaves(1, 2)), {0: b"x" * 32}, 4)


@FAST
@given(seed=seeds, size=sizes, data=st.data())
def test_a_compact_range_filled_by_gap_plans_is_the_root(seed: int, size: int, data: st.DataObject) -> None:
    # Leaves read here and there, the gaps between them filled with stored perfect subtrees.
    leaves = make_leaves(seed, size)
    tree = MemoryTree(leaves)
    read = sorted(data.draw(st.sets(st.integers(0, size - 1))))
    compact = CompactRange.empty()
    for index in [*read, None]:
        end = size if index is None else index
        for level, idx in gap_plan(compact.size, end):
            compact.append_subtree(level, tree.get_nodes([(level, idx)])[(level, idx)])
        assert compact.size == end
        if index is not None:
            compact.append(leaves[index])
    assert compact.root() == root_of(leaves)
    assert all(len(gap_plan(a, b)) <= 2 * max(1, b.bit_length()) for a, b in [(0, size), (1, size)] if a <= b)


def test_append_subtree_and_gap_plan_refuse_what_does_not_fit() -> None:
    compact = CompactRange.empty()
    compact.append(leaf_hash(b"a"))
    with pytest.raises(ValueError, match="cannot follow 1 leaves"):
        compact.append_subtree(1, b"x" * 32)
    with pytest.raises(ValueError, match="invalid leaf range"):
        gap_plan(5, 3)
    assert (
        gap_plan(0, 8) == [(3, 0)]
        and gap_plan(1, 8) == [(0, 1), (1, 1), (2, 1)]
        and gap_plan(6, 7) == [(0, 6)]
    )
