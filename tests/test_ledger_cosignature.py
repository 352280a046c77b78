"""C2SP tlog-cosignature v1 (Ed25519, signature type 0x04), byte for byte against public vectors.

Vectors (third-party, reproduced as data):
- sigsum/sigsum-go, pkg/checkpoint/checkpoint_test.go: `TestCheckpointCosignVerify` cosigns the checkpoint
  `testCheckpointASCII` with `crypto.NewEd25519Signer(&crypto.PrivateKey{17})` (seed 0x11 then 31 zero bytes)
  at timestamp 1234 under the name `example.org/witness`, and `TestCheckpointVerifyCosignatureByKey` keeps the
  line it printed (its second input line), which our signer must reproduce exactly.
- transparency-dev/formats, note/note_cosigv1_test.go: `TestCoSigV1NewVerifier` ("works: native
  algEd25519CosignatureV1 verifier", a real witness's 0x04 verifier key, and an 0x01 key that is not a
  cosigner key) and `TestCoSigV1Timestamp` (a cosignature whose timestamp is 1727964367; a 68-byte plain
  Ed25519 note signature that is no cosignature).
- C2SP tlog-cosignature.md, "Ed25519 signed message": the signed message of its example.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from ledger.cosignature import (
    BadCosignatureError,
    Cosignature,
    Cosigner,
    CosignerKey,
    cosign,
    cosignature_message,
    cosigner_key_id,
    load_cosigner,
    save_cosigner,
    verify_cosignatures,
)
from ledger.keys import KeyFileError, SigningKey, VerifierKeyError, compute_key_id, load_key, save_key

# --- sigsum-go's vector ------------------------------------------------------------------------------------
SIGSUM_SEED = bytes([17]) + bytes(31)
SIGSUM_NAME = "example.org/witness"
SIGSUM_BODY = b"example.org/log\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
# sigsum-go's dummy log signature line (`testCheckpointASCII`): 4-byte key id and 64 bytes.
SIGSUM_LOG_LINE = "— example.org/log DEADBEEF" + "A" * 83 + "="
SIGSUM_LINE = (
    "— example.org/witness ys8uUAAAAAAAAATSftMzceM8zssdZ9jin9SjwIxzx9iADMf63VqirX2hafol9RsqNqbofIz0LVRqHXI2"
    "kpEBSki5RTXFtxz1vo9+Cg=="
)
# The same line with another key id (sigsum-go's first input line): a line by another key, ignored.
SIGSUM_OTHER_ID_LINE = (
    "— example.org/witness yX8uUAAAAAAAAATSftMzceM8zssdZ9jin9SjwIxzx9iADMf63VqirX2hafol9RsqNqbofIz0LVRqHXI2"
    "kpEBSki5RTXFtxz1vo9+Cg=="
)

# --- transparency-dev/formats' vectors ---------------------------------------------------------------------
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
PLAIN_ED25519_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
TIMESTAMPED_SIG = (
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA=="
)
PLAIN_SIG = "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY="

# --- C2SP tlog-cosignature.md ------------------------------------------------------------------------------
C2SP_BODY = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
C2SP_MESSAGE = (
    b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
    b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)

PASSPHRASE = "witness passphrase"


def sigsum_cosigner() -> Cosigner:
    return Cosigner(SigningKey(SIGSUM_NAME, Ed25519PrivateKey.from_private_bytes(SIGSUM_SEED)))


def sigsum_note(*lines: str) -> str:
    return SIGSUM_BODY.decode() + "\n" + "".join(f"{line}\n" for line in lines)


# --- the format, byte for byte -----------------------------------------------------------------------------
def test_signed_message_is_the_c2sp_example() -> None:
    assert cosignature_message(C2SP_BODY, 1679315147) == C2SP_MESSAGE


def test_cosignature_line_matches_sigsum_go_byte_for_byte() -> None:
    cosignature = cosign(SIGSUM_BODY, sigsum_cosigner(), 1234)
    assert cosignature.line == SIGSUM_LINE
    # key id (4) || timestamp (8, big-endian) || signature (64)
    raw = base64.b64decode(SIGSUM_LINE.split(" ")[2])
    assert len(raw) == 76
    assert raw[:4] == cosignature.key_id == sigsum_cosigner().verifier().key_id
    assert raw[4:12] == (1234).to_bytes(8, "big")
    assert raw[12:] == cosignature.signature


def test_sigsum_go_line_verifies_among_other_signature_lines() -> None:
    key = sigsum_cosigner().verifier()
    note = sigsum_note(SIGSUM_LOG_LINE, SIGSUM_OTHER_ID_LINE, SIGSUM_LINE)
    body, found = verify_cosignatures(note, key)
    assert body == SIGSUM_BODY
    assert [(c.keyid_string, c.timestamp) for c in found] == [(key.keyid_string, 1234)]
    assert found[0].time == "1970-01-01T00:20:34Z"


def test_cosigner_key_id_uses_signature_type_0x04() -> None:
    key = sigsum_cosigner().verifier()
    public = key.public
    assert key.key_id.hex() == "cacf2e50"  # the key id in sigsum-go's line
    assert key.key_id == cosigner_key_id(SIGSUM_NAME, public)
    assert key.key_id != compute_key_id(SIGSUM_NAME, public)  # the 0x01 id of the same key differs
    text = str(key)
    name, hex_id, b64 = text.split("+", 2)
    assert (name, hex_id) == (SIGSUM_NAME, "cacf2e50")
    assert base64.b64decode(b64) == b"\x04" + public
    assert CosignerKey.parse(text) == key


def test_real_witness_vkey_from_transparency_dev_formats() -> None:
    key = CosignerKey.parse(REMORA_VKEY)
    assert key.name == "remora.n621.de"
    assert key.key_id.hex() == "da77ade7"
    assert str(key) == REMORA_VKEY


def test_pool_key_type_0x01_is_not_a_cosigner_key() -> None:
    with pytest.raises(VerifierKeyError, match=r"type 0x01.*0x04"):
        CosignerKey.parse(PLAIN_ED25519_VKEY)


@pytest.mark.parametrize(
    "text, message",
    [
        ("remora.n621.de+da77ade8+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", "does not match"),
        ("remora.n621.de+DA77ADE7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", "8 lower-case hex"),
        ("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw", "base64"),
        ("remora.n621.de+da77ade7", "expected <name>"),
        ("remora n621+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", "invalid name"),
    ],
)
def test_malformed_cosigner_keys_are_refused(text: str, message: str) -> None:
    with pytest.raises(VerifierKeyError, match=message):
        CosignerKey.parse(text)


def test_timestamp_vector_from_transparency_dev_formats() -> None:
    cosignature = Cosignature.from_raw("witness", base64.b64decode(TIMESTAMPED_SIG))
    assert cosignature.timestamp == 1727964367
    assert cosignature.key_id.hex() == "646846b9"
    assert cosignature.time == "2024-10-03T14:06:07Z"
    # A plain Ed25519 note signature (key id || 64 bytes) is not a cosignature.
    with pytest.raises(BadCosignatureError, match="68 bytes"):
        Cosignature.from_raw("witness", base64.b64decode(PLAIN_SIG))


def test_timestamp_above_2_63_minus_1_is_refused() -> None:
    raw = bytes(4) + (2**63).to_bytes(8, "big") + bytes(64)
    with pytest.raises(BadCosignatureError, match="2\\^63"):
        Cosignature.from_raw("w", raw)
    with pytest.raises(ValueError):
        cosignature_message(SIGSUM_BODY, 2**63)


# --- what must not verify ----------------------------------------------------------------------------------
def _with_blob(line: str, edit: int, value: int) -> str:
    prefix, b64 = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[edit] = value
    return f"{prefix} {base64.b64encode(bytes(raw)).decode()}"


def test_edited_time_is_rejected() -> None:
    key = sigsum_cosigner().verifier()
    edited = _with_blob(SIGSUM_LINE, 11, 0xD3)  # timestamp 1235
    with pytest.raises(BadCosignatureError, match="does not verify"):
        verify_cosignatures(sigsum_note(SIGSUM_LOG_LINE, edited), key)


def test_edited_body_is_rejected() -> None:
    key = sigsum_cosigner().verifier()
    for old, new in (b"\n10\n", b"\n11\n"), (b"example.org/log", b"example.org/lag"):
        body = SIGSUM_BODY.replace(old, new)
        assert body != SIGSUM_BODY
        note = body.decode() + "\n" + SIGSUM_LINE + "\n"
        with pytest.raises(BadCosignatureError, match="does not verify"):
            verify_cosignatures(note, key)


def test_extension_line_in_the_body_is_signed() -> None:
    cosigner = sigsum_cosigner()
    body = SIGSUM_BODY + b"extension\n"
    line = cosign(body, cosigner, 7).line
    assert verify_cosignatures(body.decode() + "\n" + line + "\n", cosigner.verifier())[1]
    with pytest.raises(BadCosignatureError):
        verify_cosignatures(SIGSUM_BODY.decode() + "\n" + line + "\n", cosigner.verifier())


def test_another_key_with_the_same_name_and_id_is_rejected() -> None:
    # A forger who writes the witness's name and key id over its own signature.
    forger = Cosigner.generate(SIGSUM_NAME)
    forged = cosign(SIGSUM_BODY, forger, 1234)
    blob = sigsum_cosigner().verifier().key_id + forged.timestamp.to_bytes(8, "big") + forged.signature
    line = f"— {SIGSUM_NAME} {base64.b64encode(blob).decode()}"
    with pytest.raises(BadCosignatureError):
        verify_cosignatures(sigsum_note(line), sigsum_cosigner().verifier())


def test_another_witness_key_finds_nothing() -> None:
    other = Cosigner.generate(SIGSUM_NAME).verifier()  # same name, another key: another key id
    assert verify_cosignatures(sigsum_note(SIGSUM_LOG_LINE, SIGSUM_LINE), other)[1] == []


def test_a_pool_signature_is_not_a_cosignature_and_the_pool_ignores_cosignatures() -> None:
    pool = SigningKey.generate("pool.example/test")
    cp = Checkpoint("pool.example/test", 5, bytes(range(32)))
    note = sign_checkpoint(cp, pool)
    witness = Cosigner.generate("witness.example/w1")
    cosigned = note + cosign(cp.body(), witness, 1700000000).line + "\n"
    # The pool's checkpoint still verifies with the cosignature line added (C2SP: unknown lines ignored).
    assert verify_checkpoint(cosigned, pool.verifier(), cp.origin) == cp
    assert [c.timestamp for c in verify_cosignatures(cosigned, witness.verifier())[1]] == [1700000000]
    # The same Ed25519 key as a cosigner (0x04 id) finds no cosignature in the pool's own line.
    as_cosigner = CosignerKey.from_public(pool.name, pool.public_bytes)
    assert verify_cosignatures(note, as_cosigner)[1] == []


# --- key files ---------------------------------------------------------------------------------------------
def test_cosigner_key_file_round_trip_and_never_a_pool_key(tmp_path: Path) -> None:
    path = tmp_path / "w.key"
    cosigner = Cosigner.generate("witness.example/w1")
    save_cosigner(path, cosigner, PASSPHRASE)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["purpose"] == "cosigner"
    loaded = load_cosigner(path, PASSPHRASE)
    assert loaded.verifier() == cosigner.verifier()
    with pytest.raises(KeyFileError, match="is a witness \\(cosigner\\) key, not a pool key"):
        load_key(path, PASSPHRASE)
    pool_path = tmp_path / "pool.key"
    save_key(pool_path, SigningKey.generate("pool.example/test"), PASSPHRASE)
    with pytest.raises(KeyFileError, match="is a pool key, not a witness"):
        load_cosigner(pool_path, PASSPHRASE)


def test_the_purpose_is_bound_to_the_encrypted_key(tmp_path: Path) -> None:
    path = tmp_path / "w.key"
    save_cosigner(path, Cosigner.generate("witness.example/w1"), PASSPHRASE)
    doc = json.loads(path.read_text())
    del doc["purpose"]  # relabelled as a pool key: the associated data no longer matches
    relabelled = tmp_path / "relabelled.key"
    relabelled.write_text(json.dumps(doc))
    relabelled.chmod(0o600)
    with pytest.raises(KeyFileError, match="wrong passphrase or corrupted"):
        load_key(relabelled, PASSPHRASE)
