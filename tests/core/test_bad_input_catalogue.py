"""Every case of ../shared/docs/BAD-INPUT.md has a test (issue 8), and the gaps are filled here.

``CATALOGUE`` maps each catalogue id (A1..E5) to the tests that assert the behaviour it asks
for.  ``test_every_catalogue_id_has_a_test`` fails when the catalogue gains an id this table
does not name, and ``test_every_reference_exists`` when a named test is renamed or removed.
The tests below cover the cases no other module did; they reuse ``test_bad_input``'s
``inputs`` fixture, which checks at teardown that every input is byte-identical (sha256) and
that nothing was written next to it or left in the cache.
"""

from __future__ import annotations

import importlib
import io
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from explorer.core.errors import (
    Cancelled,
    FormatError,
    LimitExceeded,
    MissingBlobError,
    NotAnImageError,
    TruncatedError,
    UnsafePath,
)
from explorer.core.fs.entry import escape_text
from explorer.core.inspection import inspect_path
from explorer.core.limits import Limits
from explorer.core.tasks import CancelToken
from tests.conftest import REPO
from tests.core.factories import DockerArchive, Member, OciArchive, outer_tar
from tests.core.test_bad_input import BASE, Inputs, assert_refused, cache, inputs, opened

__all__ = ["cache", "inputs"]  # fixtures used by the tests below

CATALOGUE_DOC = REPO.parent / "shared" / "docs" / "BAD-INPUT.md"
BI, EX, CO, WR = "test_bad_input", "test_extract", "test_commit", "test_writer"
HERE = "test_bad_input_catalogue"
UI = "tests.ui.test_preview_extract"

CATALOGUE: dict[str, list[str]] = {
    "A1": [f"{BI}::test_compressed_outer_docker_archive_opens",
           f"{BI}::test_compressed_outer_archive_with_bad_metadata_cleans_up"],
    "A2": [f"{BI}::test_outer_tar_cut_inside_a_header", f"{BI}::test_outer_tar_cut_inside_data",
           f"{BI}::test_outer_tar_missing_end_blocks_is_truncated"],
    "A3": [f"{HERE}::test_a3_negative_or_huge_member_sizes_are_truncation"],
    "A4": [f"{HERE}::test_a4_oversized_extension_headers_hit_their_limit"],
    "A5": [f"{HERE}::test_a5_indexing_the_outer_tar_can_be_cancelled"],
    "A6": [f"{BI}::test_duplicate_manifest_json_is_refused",
           f"{BI}::test_duplicate_layer_blob_is_refused",
           f"{HERE}::test_a6_other_duplicate_names_warn"],
    "A7": [f"{HERE}::test_a7_extension_header_differentials_in_a_layer_warn",
           f"{HERE}::test_a7_extension_header_differentials_in_the_outer_tar_warn",
           f"{HERE}::test_a7_extension_headers_after_a_sparse_file_are_still_checked",
           f"{HERE}::test_a7_a_clean_pax_layer_gives_no_warning"],
    "A8": [f"{HERE}::test_a8_outer_links"],
    "A9": [f"{HERE}::test_a9_control_file_that_is_not_a_regular_file"],
    "A10": [f"{HERE}::test_a10_trailing_zeros_pass_and_garbage_warns"],
    "B1": [f"{BI}::test_unsafe_layer_paths_in_manifest_json"],
    "B2": [f"{BI}::test_malformed_diff_id", f"{BI}::test_malformed_layer_descriptor_digest"],
    "B3": [f"{BI}::test_layer_diff_id_mismatch",
           f"{BI}::test_layer_blob_digest_mismatch_in_oci_archive",
           f"{BI}::test_config_digest_mismatch_in_oci_archive"],
    "B4": [f"{HERE}::test_b4_media_type_confusion_is_refused"],
    "B5": [f"{BI}::test_bad_json_in_manifest_json", f"{BI}::test_oversized_manifest_json",
           f"{HERE}::test_b5_hostile_json"],
    "B6": [f"{BI}::test_layer_count_differs_from_diff_ids",
           f"{BI}::test_rootfs_type_other_than_layers", f"{HERE}::test_b6_oci_layout_marker"],
    "B7": [f"{HERE}::test_b7_controls_and_bidi_are_escaped_for_display",
           f"{WR}::TestImageName::test_refuses_what_docker_load_refuses"],
    "B8": [f"{HERE}::test_b8_more_than_125_layers_warns",
           f"{CO}::TestInputs::test_docker_output_stops_at_125_layers"],
    "C1": [f"{BI}::test_entry_leaving_the_root_is_skipped",
           f"{EX}::test_dot_dot_and_absolute_member_names_stay_inside"],
    "C2": [f"{EX}::test_files_behind_an_image_symlink_to_the_host_are_not_written_there",
           f"{EX}::test_a_symlink_planted_in_dest_dir_is_never_followed",
           f"{EX}::test_a_folder_swapped_for_a_symlink_during_extraction_is_not_followed"],
    "C3": [f"{BI}::test_symlink_entry_for_the_root_is_skipped",
           f"{HERE}::test_c3_child_of_a_non_directory_is_dropped_with_a_warning"],
    "C4": [f"{BI}::test_invalid_whiteout_refuses_the_layer",
           f"{BI}::test_file_and_its_whiteout_in_one_layer", f"{BI}::test_opaque_marker_stored_last",
           f"{HERE}::test_c4_odd_whiteouts_warn",
           f"{HERE}::test_c4_whiteout_through_a_symlinked_parent_warns"],
    "C5": [f"{HERE}::test_c5_bad_hardlinks_are_dangling_and_warned",
           f"{EX}::test_hardlinks_are_written_as_independent_copies"],
    "C6": [f"{EX}::test_modes_keep_owner_bits_and_drop_special_and_write_bits"],
    "C7": [f"{EX}::test_devices_and_fifos_are_skipped_with_a_warning"],
    "C8": [f"{EX}::test_symlinks_are_made_only_when_they_stay_inside"],
    "C9": [f"{BI}::test_non_utf8_names_survive_as_bytes", f"{EX}::test_raw_non_utf8_names_are_kept",
           f"{HERE}::test_c9_overlong_names_warn"],
    "C10": [f"{BI}::test_duplicate_path_in_one_layer_last_wins"],
    "C11": [f"{HERE}::test_c11_global_headers_are_ignored"],
    "C12": [f"{BI}::test_corrupt_gzip_layer", f"{BI}::test_truncated_compressed_layer_is_refused",
            f"{HERE}::test_c12_a_high_compression_ratio_warns"],
    "C13": [f"{HERE}::test_c13_entry_cap_names_its_limit"],
    "D1": [f"{UI}::test_text_is_shown_capped_with_load_more"],
    "D2": [f"{UI}::test_binary_is_shown_in_hex", f"{UI}::test_images_are_decoded_but_svg_is_text"],
    "D3": [f"{EX}::test_existing_files_are_kept_and_the_copy_gets_a_free_name",
           f"{EX}::test_cancel_leaves_dest_dir_as_it_was"],
    "E1": [f"{CO}::TestOutput::test_refuses_to_overwrite_the_input",
           f"{CO}::TestOutput::test_cancel_at_any_point_leaves_no_file",
           f"{WR}::TestAtomicOutput::test_refuses_to_write_inside_an_input_folder",
           "test_output_safety::test_a_killed_commit_leaves_nothing_and_the_next_cleans_up",
           "test_output_safety::test_a_full_disk_is_a_commit_error_and_leaves_nothing"],
    "E2": [f"{CO}::TestOutput::test_an_input_changed_since_it_was_opened_fails_verification",
           f"{CO}::TestTheTomcatStory::test_unchanged_layers_are_the_input_blobs_byte_for_byte"],
    "E3": [f"{WR}::TestLayerTarBuilder::test_headers_are_pax_with_integer_mtimes_and_no_host_owner_names",
           f"{WR}::TestLayerTarBuilder::test_refuses_unsafe_or_reserved_names",
           f"{WR}::TestLayerTarBuilder::test_refuses_duplicate_paths"],
    "E4": [f"{WR}::TestWriteImageArchive::test_refuses_configs_loaders_would_reject_and_writes_nothing",
           f"{WR}::TestWriteImageArchive::test_refuses_invalid_tags_before_writing"],
    "E5": [f"{CO}::TestOutput::test_formats_and_compressions_reopen_verified",
           "test_commit_tools::test_skopeo_inspects_and_copies_it_verifying_every_digest"],
}


def catalogue_ids() -> list[str]:
    """The ids BAD-INPUT.md defines: bold ``**A1 ...`` / ``**E1**`` items."""
    if not CATALOGUE_DOC.exists():
        pytest.skip(f"{CATALOGUE_DOC} is not available")
    return sorted(set(re.findall(r"^- \*\*([A-E]\d+)\b", CATALOGUE_DOC.read_text(), re.M)))


def test_every_catalogue_id_has_a_test() -> None:
    ids = catalogue_ids()
    assert len(ids) >= 39
    missing = [i for i in ids if not CATALOGUE.get(i)]
    assert not missing, f"BAD-INPUT.md cases without a test: {missing}"
    assert not set(CATALOGUE) - set(ids), "the table names ids the catalogue does not have"


@pytest.mark.parametrize(("case", "ref"), [(c, r) for c, refs in CATALOGUE.items() for r in refs])
def test_every_reference_exists(case: str, ref: str) -> None:
    module_name, _, qualname = ref.partition("::")
    if not module_name.startswith("tests."):
        module_name = f"tests.core.{module_name}"
    if module_name.startswith("tests.ui."):
        pytest.importorskip("pytestqt")
    obj: object = importlib.import_module(module_name)
    for part in qualname.replace("::", ".").split("."):
        obj = getattr(obj, part, None)
        assert obj is not None, f"{case}: {ref} does not exist"
    assert callable(obj)


# ============================================================ gaps: the outer archive

def _set_size_field(data: bytes, member: int, field: bytes) -> bytes:
    """Overwrite member ``member``'s 12-byte size field and fix the header checksum."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        off = tf.getmembers()[member].offset
    b = bytearray(data)
    b[off + 124:off + 136] = field
    b[off + 148:off + 156] = b" " * 8
    b[off + 148:off + 156] = b"%06o\x00 " % sum(b[off:off + 512])
    return bytes(b)


@pytest.mark.parametrize("field", [b"\xff" * 12, b"\x80" + (1 << 40).to_bytes(11, "big")],
                         ids=["negative-base256", "one-terabyte"])
def test_a3_negative_or_huge_member_sizes_are_truncation(inputs: Inputs, field: bytes) -> None:
    path = inputs.put("a3.tar", _set_size_field(outer_tar(DockerArchive([BASE]).members()), 0,
                                                field))
    with pytest.raises(TruncatedError, match="truncated"):
        opened(path)


def _with_extension_header(fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for m in DockerArchive([BASE]).members():
            info = tarfile.TarInfo(m.name)
            info.size = len(m.data)
            tf.addfile(info, io.BytesIO(m.data))
        big = tarfile.TarInfo("x" * (2 * 1024 * 1024) if fmt == tarfile.GNU_FORMAT else "x")
        if fmt == tarfile.PAX_FORMAT:
            big.pax_headers = {"comment": "x" * (2 * 1024 * 1024)}
        tf.addfile(big, io.BytesIO(b""))
    return buf.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_a4_oversized_extension_headers_hit_their_limit(inputs: Inputs, fmt: int) -> None:
    path = inputs.put("a4.tar", _with_extension_header(fmt))
    with pytest.raises(LimitExceeded, match=r"\(tar_ext_header\)") as info:
        opened(path)
    assert info.value.limit_name == "tar_ext_header"
    with inspect_path(str(path), limits=Limits(tar_ext_header=4 * 1024 * 1024)):
        pass  # the user can raise it


def test_a5_indexing_the_outer_tar_can_be_cancelled(inputs: Inputs) -> None:
    """The watchdog: a cancel token stops the header walk (bounded work, A3/A5)."""
    path = inputs.write("a5.tar", DockerArchive([BASE]))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        inspect_path(str(path), cancel=token)


def test_a6_other_duplicate_names_warn(inputs: Inputs) -> None:
    archive = DockerArchive([BASE])
    archive.extra = [Member("README", b"one"), Member("README", b"two")]
    with opened(inputs.write("a6.tar", archive)) as ins:
        assert any("more than once" in w and "README" in w for w in ins.warnings)


def _pax_layer(member: tarfile.TarInfo, data: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        tf.addfile(member, io.BytesIO(data))
        tf.addfile(tarfile.TarInfo("after"), io.BytesIO(b""))
    return buf.getvalue()


def _nul_in_pax_path() -> bytes:
    info = tarfile.TarInfo("x")
    info.pax_headers = {"path": "a\x00b"}
    return _pax_layer(info)


def _pax_size_differs() -> bytes:
    """ustar size 3, PAX size 5: both fit one block, so every reader stays in step."""
    info = tarfile.TarInfo("f")
    info.size = 3
    info.pax_headers = {"size": "5"}
    return _pax_layer(info, b"abc")


def _pax_then_gnu_long_name() -> bytes:
    pax = tarfile.TarInfo._create_pax_generic_header(  # type: ignore[attr-defined]
        {"mtime": "1"}, tarfile.XHDTYPE, "utf-8")
    long_name = tarfile.TarInfo("d/" + "n" * 120)
    body = long_name.tobuf(format=tarfile.GNU_FORMAT)
    return pax + body + tarfile.TarInfo("after").tobuf(format=tarfile.USTAR_FORMAT) + b"\0" * 1024


@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
@pytest.mark.parametrize(("layer", "fragment", "path"), [
    (_nul_in_pax_path, "its PAX path holds a NUL byte", b"a"),
    (_pax_size_differs, "its PAX size (5) differs from its tar header's size (3)", b"f"),
    (_pax_then_gnu_long_name, "a PAX header is followed by a GNU long-name header",
     b"d/" + b"n" * 120),
], ids=["nul", "size", "ext-after-pax"])
def test_a7_extension_header_differentials_in_a_layer_warn(
        inputs: Inputs, compression: str | None, layer: Callable[[], bytes], fragment: str,
        path: bytes) -> None:
    """The layer reader sees the raw extension headers even though libarchive applies them
    first: each differential of A7 is warned about, and the entry reads as Go would."""
    archive = OciArchive([BASE, layer()], compression=compression)  # type: ignore[arg-type]
    with opened(inputs.write("a7l.tar", archive)) as ins:
        hits = [w for w in ins.warnings if fragment in w]
        assert len(hits) == 1, ins.warnings
        assert hits[0].startswith("Layer 1: ")
        assert ins.merged().get(path) is not None
        assert ins.merged().get(b"after") is not None


@pytest.mark.parametrize(("member", "fragment"), [
    (_nul_in_pax_path, "its PAX path holds a NUL byte"),
    (_pax_size_differs, "its PAX size (5) differs from its tar header's size (3)"),
    (_pax_then_gnu_long_name, "a PAX header is followed by a GNU long-name header"),
], ids=["nul", "size", "ext-after-pax"])
def test_a7_extension_header_differentials_in_the_outer_tar_warn(
        inputs: Inputs, member: Callable[[], bytes], fragment: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for m in DockerArchive([BASE]).members():
            info = tarfile.TarInfo(m.name)
            info.size = len(m.data)
            tf.addfile(info, io.BytesIO(m.data))
        members_end = tf.offset
    raw = buf.getvalue()[:members_end] + member()
    with opened(inputs.put("a7o.tar", raw)) as ins:
        assert len([w for w in ins.warnings if fragment in w]) == 1, ins.warnings


def test_a7_a_clean_pax_layer_gives_no_warning(inputs: Inputs) -> None:
    info = tarfile.TarInfo("p" * 150)  # PAX path header, nothing wrong with it
    info.pax_headers = {"path": "p" * 150, "mtime": "1.5"}
    archive = OciArchive([BASE, _pax_layer(info, b"")], compression="gzip")
    with opened(inputs.write("a7ok.tar", archive)) as ins:
        assert not [w for w in ins.warnings if "PAX" in w], ins.warnings


@pytest.mark.parametrize(("target", "error", "fragment"), [
    ("/etc/passwd", UnsafePath, "absolute"),
    ("../../x.tar", UnsafePath, "outside the archive"),
    ("nope.tar", MissingBlobError, "not in the archive"),
    ("../l2/layer.tar", LimitExceeded, "outer_link_hops"),
    ("GOOD", None, ""),
])
def test_a8_outer_links(inputs: Inputs, target: str, error: type[Exception] | None,
                        fragment: str) -> None:
    archive = DockerArchive([BASE])
    real = "../" + archive.layer_names[0]
    archive.edit_manifest = lambda doc: doc[0].__setitem__("Layers", ["l1/layer.tar"])
    archive.extra = [Member("l1/layer.tar", type=tarfile.SYMTYPE,
                            linkname=real if target == "GOOD" else target),
                     Member("l2/layer.tar", type=tarfile.SYMTYPE, linkname="../l3/layer.tar"),
                     Member("l3/layer.tar", type=tarfile.SYMTYPE, linkname=real)]
    path = inputs.write("a8.tar", archive)
    if error is None:
        with opened(path) as ins:
            assert ins.merged().get(b"etc/hosts") is not None
        return
    with pytest.raises(error, match=re.escape(fragment)):
        opened(path)


@pytest.mark.parametrize("kind", [tarfile.DIRTYPE, tarfile.FIFOTYPE], ids=["dir", "fifo"])
def test_a9_control_file_that_is_not_a_regular_file(inputs: Inputs, kind: bytes) -> None:
    archive = DockerArchive([BASE])
    archive.omit = {"manifest.json"}
    archive.extra = [Member("manifest.json", type=kind)]
    with pytest.raises(FormatError, match="not a regular file"):
        opened(inputs.write("a9.tar", archive))


def test_a10_trailing_zeros_pass_and_garbage_warns(inputs: Inputs) -> None:
    data = outer_tar(DockerArchive([BASE]).members())
    with opened(inputs.put("zeros.tar", data + bytes(100_000))) as ins:
        assert ins.warnings == []
    with opened(inputs.put("garbage.tar", data + b"garbage!" * 64)) as ins:
        assert any("Non-zero data follows" in w for w in ins.warnings)


# ============================================================ gaps: metadata

@pytest.mark.parametrize("edit", [
    lambda d: d.__setitem__("manifests", []),
    lambda d: d.__setitem__("mediaType", "application/vnd.oci.image.index.v1+json"),
], ids=["manifests-and-layers", "media-type-disagrees"])
def test_b4_media_type_confusion_is_refused(inputs: Inputs, edit: object) -> None:
    archive = OciArchive([BASE])
    archive.edit_manifest = edit  # type: ignore[assignment]
    with pytest.raises(FormatError, match=r"ambiguous|media type"):
        opened(inputs.write("b4.tar", archive))


@pytest.mark.parametrize(("raw", "fragment"), [
    (b'{"a": NaN}', "NaN"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (b'{"a":"\xff"}', "UTF-8"),
    (b'{"a":' + b"1" * 5000 + b"}", "not valid JSON"),
    (b'{"rootfs": {}, "rootfs": {}}', "duplicate key"),
], ids=["nan", "deep", "utf8", "huge-int", "dup-key"])
def test_b5_hostile_json(inputs: Inputs, capsys: pytest.CaptureFixture[str], raw: bytes,
                         fragment: str) -> None:
    archive = DockerArchive([BASE])
    archive.config_raw = raw
    assert_refused(inputs.write("b5.tar", archive), capsys, FormatError, fragment)


def test_b6_oci_layout_marker(inputs: Inputs) -> None:
    missing = OciArchive([BASE])
    missing.omit = {"oci-layout"}
    with pytest.raises(NotAnImageError):
        opened(inputs.write("nolayout.tar", missing))
    wrong = OciArchive([BASE])
    wrong.omit = {"oci-layout"}
    wrong.extra = [Member("oci-layout", b'{"imageLayoutVersion":"2.0.0"}')]
    with pytest.raises(FormatError, match="Unsupported OCI layout version"):
        opened(inputs.write("layout2.tar", wrong))


def test_b7_controls_and_bidi_are_escaped_for_display() -> None:
    shown = escape_text("evil\x1b[31m\u202e:latest")
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "\\x1b" in shown and "\\u202e" in shown


def test_b8_more_than_125_layers_warns(inputs: Inputs) -> None:
    archive = DockerArchive([[(f"f{i}", b"%d" % i, "file")] for i in range(126)])
    with opened(inputs.write("b8.tar", archive)) as ins:
        assert any("126 layers" in w and "125" in w for w in ins.warnings)


# ============================================================ gaps: layer content

def _warnings_of(inputs: Inputs, *layers: object) -> list[str]:
    with opened(inputs.write("layer.tar", OciArchive([BASE, *layers]))) as ins:  # type: ignore[list-item]
        ins.merged()
        return ins.warnings


def test_c3_child_of_a_non_directory_is_dropped_with_a_warning(inputs: Inputs) -> None:
    warnings = _warnings_of(inputs, [("etc", b"now a file", "file"), ("etc/new", b"x", "file")])
    assert any("etc/new is dropped" in w for w in warnings)


@pytest.mark.parametrize(("entry", "fragment"), [
    (("etc/.wh.hosts", b"data", "file"), "not an empty regular file"),
    (("etc/.wh.hosts", "x", "symlink"), "not an empty regular file"),
    ((".wh.etc/x", b"", "file"), "as a directory"),
    ((".wh..wh.plnk", b"", "file"), "AUFS metadata"),
])
def test_c4_odd_whiteouts_warn(inputs: Inputs, entry: tuple[str, object, str],
                               fragment: str) -> None:
    assert any(fragment in w for w in _warnings_of(inputs, [entry]))


def test_c4_whiteout_through_a_symlinked_parent_warns(inputs: Inputs) -> None:
    """Resolved inside the image as containerd does: etc/hosts is gone, and it is said."""
    with opened(inputs.write("c4.tar", OciArchive([[*BASE, ("l", "etc", "symlink")],
                                                   [("l/.wh.hosts", b"", "file")]]))) as ins:
        assert any("via symlinked parent l" in w for w in ins.warnings), ins.warnings
        assert ins.merged().get(b"etc/hosts") is None
        assert ins.merged(0).get(b"etc/hosts") is not None


def test_c4_a_symlinked_parent_never_leads_out_of_the_image(inputs: Inputs) -> None:
    layers = [[*BASE, ("l", "../../../etc", "symlink")], [("l/.wh.hosts", b"", "file")]]
    with opened(inputs.write("c4-out.tar", OciArchive(layers))) as ins:
        assert ins.merged().get(b"etc/hosts") is None, "../ stops at the image's root"


@pytest.mark.parametrize("target", ["nothere", "later", "../etc/hosts", "etc"])
def test_c5_bad_hardlinks_are_dangling_and_warned(inputs: Inputs, target: str) -> None:
    warnings = _warnings_of(inputs, [("h", target, "hardlink"), ("later", b"x", "file")])
    assert any("dangling hardlink h" in w for w in warnings)


def test_c9_overlong_names_warn(inputs: Inputs) -> None:
    warnings = _warnings_of(inputs, [("a" * 300, b"", "file"), ("b/" * 2100 + "x", b"", "file")])
    assert any("(name_bytes)" in w for w in warnings)
    assert any("(path_bytes)" in w for w in warnings)


def test_c11_global_headers_are_ignored(inputs: Inputs) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        glob = tarfile.TarInfo("global")
        glob.type = tarfile.XGLTYPE
        glob.pax_headers = {"comment": "x"}
        tf.addfile(glob)
        tf.addfile(tarfile.TarInfo("f"), io.BytesIO(b""))
    with opened(inputs.write("c11.tar", OciArchive([BASE, buf.getvalue()]))) as ins:
        assert {p for p, _ in ins.merged().walk()} == {p.encode() for p, _, _ in BASE} | {b"f"}


def test_c12_a_high_compression_ratio_warns(inputs: Inputs) -> None:
    zeros = [("zero", bytes(8 * 1024 * 1024), "file")]
    with opened(inputs.write("c12.tar", OciArchive([BASE, zeros], compression="gzip"))) as ins:
        assert any("decompression_ratio" in w for w in ins.warnings), ins.warnings
        assert not any("Layer 0" in w and "ratio" in w for w in ins.warnings), \
            "a small, ordinary layer is not reported"


def test_c13_entry_cap_names_its_limit(inputs: Inputs, tmp_path: Path) -> None:
    path = inputs.write("c13.tar", OciArchive([BASE, [(f"f{i}", b"", "file") for i in range(50)]]))
    with pytest.raises(LimitExceeded, match=r"\(entries_per_layer\)") as info:
        inspect_path(str(path), limits=Limits(entries_per_layer=10))
    assert info.value.limit_name == "entries_per_layer"


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs GNU tar to write a sparse file")
def test_a7_extension_headers_after_a_sparse_file_are_still_checked(inputs: Inputs,
                                                                    tmp_path: Path) -> None:
    """A sparse file stores fewer bytes than its size: the check must find the next entry's
    headers from where libarchive read them, not from sizes."""
    folder = tmp_path / "src"
    folder.mkdir()
    with open(folder / "sparse", "wb") as fh:
        fh.truncate(1 << 20)
        fh.write(b"start")
    (folder / "zz-\u00fcn").write_bytes(b"x")  # not ASCII: GNU tar gives it a PAX path
    data = subprocess.run(["tar", "--sparse", "--format=posix", "-cf", "-", "-C", str(folder),
                           "sparse", "zz-\u00fcn"], capture_output=True, check=True).stdout
    name = "zz-\u00fcn".encode()
    assert data.count(b"path=" + name) == 1
    layer = data.replace(b"path=" + name, b"path=zz\0" + name[3:])  # same length, a NUL
    with opened(inputs.write("a7s.tar", OciArchive([BASE, layer]))) as ins:
        assert any("sparse file" in w for w in ins.warnings)
        assert any("its PAX path holds a NUL byte" in w for w in ins.warnings), ins.warnings
