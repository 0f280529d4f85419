"""Vectorised big-endian bit-field extraction from many packets at once.

All packets of a batch are concatenated into one byte buffer (plus zero padding). A field of
``width`` bits at absolute bit position ``p`` is read by gathering the big-endian 64-bit word that
starts at byte ``p // 8`` (an overlapping, 1-byte-strided ``>u8`` view of the buffer, so the
gather is a single fancy-indexing operation), shifting left by ``p % 8`` and right by
``64 - width``. Byte-aligned 8/16/32-bit fields take a cheaper path through ``>u1``/``>u2``/``>u4``
views. Fields of 58..64 bits are read as two parts; wider ones (octet strings) become Python ints.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from stix_lib.tm.headers import leading_bytes

_PAD = 16

#: Values :meth:`BitBuffer.read_fields` reads with one gather (unless a single field holds more).
BATCH_VALUES = 1 << 14
_SHIFT_CACHE = {w: np.uint64(64 - w) for w in range(1, 65)}


class BitBuffer:
    """Packets of a batch in one contiguous buffer, with per-packet bit offsets.

    Parameters
    ----------
    packets
        Packet bytes (complete CCSDS packets, headers included).

    Attributes
    ----------
    bit_starts
        Absolute bit position of each packet's first bit (int64).
    byte_lengths
        Length of each packet in bytes (int64).
    """

    def __init__(self, packets: Sequence[bytes]) -> None:
        count = len(packets)
        self.byte_lengths = np.fromiter(map(len, packets), dtype=np.int64, count=count)
        starts = np.zeros(count, dtype=np.int64)
        if count:
            np.cumsum(self.byte_lengths[:-1], out=starts[1:])
        self.byte_starts = starts
        self.bit_starts = starts * 8
        self.bit_lengths = self.byte_lengths * 8
        self._data = b"".join(packets) + bytes(_PAD)
        size = len(self._data)
        self.u8 = np.frombuffer(self._data, dtype=np.uint8)
        self._w16 = np.ndarray(shape=(size - 1,), dtype=">u2", buffer=self._data, strides=(1,))
        self._w32 = np.ndarray(shape=(size - 3,), dtype=">u4", buffer=self._data, strides=(1,))
        self._w64 = np.ndarray(shape=(size - 7,), dtype=">u8", buffer=self._data, strides=(1,))

    def __len__(self) -> int:
        return len(self.byte_lengths)

    def packet_bytes(self, index: int) -> bytes:
        """Return the bytes of packet ``index``."""
        start = int(self.byte_starts[index])
        return self._data[start : start + int(self.byte_lengths[index])]

    def leading_bytes(self, nbytes: int) -> npt.NDArray[np.uint8]:
        """``(N, nbytes)`` ``uint8``: the first ``nbytes`` bytes of every packet, zero past a packet's end."""
        return leading_bytes(self.u8, self.byte_starts, self.byte_lengths, nbytes)

    def read(self, bitpos: npt.NDArray[np.int64], width: int, signed: bool = False) -> npt.NDArray:
        """Read ``width``-bit big-endian fields at absolute bit positions.

        Parameters
        ----------
        bitpos
            Absolute bit positions (must lie inside the buffer).
        width
            Field width in bits (>= 1).
        signed
            Interpret as two's complement.

        Returns
        -------
        numpy.ndarray
            int64 values (uint64 for unsigned 64-bit fields, object for fields wider than 64 bits).
        """
        if width > 64:
            return self._read_wide(bitpos, width, signed)
        if width > 57:
            low = self._read_unsigned(bitpos + (width - 32), 32).astype(np.uint64)
            high = self._read_unsigned(bitpos, width - 32).astype(np.uint64)
            joined = (high << np.uint64(32)) | low
            if signed:
                return joined.view(np.int64) if width == 64 else _to_signed(joined.astype(np.int64), width)
            return joined if width == 64 else joined.astype(np.int64)
        value = self._read_unsigned(bitpos, width)
        return _to_signed(value, width) if signed else value

    def read_fields(
        self,
        origin: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
        widths: npt.NDArray[np.int64],
        signed: npt.NDArray[np.intp],
        aligned: bool = False,
    ) -> Sequence[npt.NDArray[np.int64]]:
        """Read fields of several widths (each at most 57 bits) at ``origin + starts[i]``.

        The fields are read in groups of one gather each, as many fields per group as keep the
        temporaries within :data:`BATCH_VALUES` values (at least one field): allocating and
        releasing large blocks costs more in page faults than it saves in calls.

        Parameters
        ----------
        origin
            ``(n,)`` absolute bit positions the fields are relative to.
        starts, widths
            ``(k, 1)`` relative position and width of each field.
        signed
            Rows holding two's complement fields.
        aligned
            Every position is a multiple of 8 (fields of 8, 16 or 32 bits are then gathered
            from a view of that width).

        Returns
        -------
        sequence of numpy.ndarray
            ``k`` rows of ``n`` int64 values, as :meth:`read` gives them field by field.
        """
        per_gather = max(1, BATCH_VALUES // max(len(origin), 1))
        if len(starts) > per_gather:
            out: list[npt.NDArray[np.int64]] = []
            for first in range(0, len(starts), per_gather):
                part = slice(first, first + per_gather)
                part_signed = signed[(signed >= first) & (signed < first + per_gather)] - first
                out.extend(self.read_fields(origin, starts[part], widths[part], part_signed, aligned))
            return out
        # few temporaries (each large one costs page faults): positions become byte numbers in place
        bitpos = origin + starts
        width = int(widths[0, 0]) if len(widths) else 0
        if aligned and width in (8, 16, 32) and bool(np.all(widths == width)):
            view = self.u8 if width == 8 else self._w16 if width == 16 else self._w32
            bitpos >>= 3
            values = view[bitpos.ravel()].astype(np.int64).reshape(bitpos.shape)
        else:
            shift = (bitpos & 7).view(np.uint64)
            bitpos >>= 3
            word = self._w64[bitpos.ravel()].reshape(bitpos.shape)
            if not word.dtype.isnative:  # big-endian words: swap to native order in place
                word = word.byteswap(inplace=True).view(word.dtype.newbyteorder())
            word = word.view(np.uint64)
            word <<= shift
            word >>= (64 - widths).astype(np.uint64)
            values = word.view(np.int64)
        if len(signed):
            sign = np.int64(1) << (widths[signed] - 1)
            values[signed] = (values[signed] ^ sign) - sign
        return values

    def _read_unsigned(self, bitpos: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int64]:
        byte = bitpos >> 3
        if width in (8, 16, 32) and not np.any(bitpos & 7):
            view = self.u8 if width == 8 else self._w16 if width == 16 else self._w32
            return view[byte].astype(np.int64)
        shift = (bitpos & 7).astype(np.uint64)
        word = self._w64[byte].astype(np.uint64)
        return ((word << shift) >> _SHIFT_CACHE[width]).astype(np.int64)

    def _read_wide(self, bitpos: npt.NDArray[np.int64], width: int, signed: bool) -> npt.NDArray[np.object_]:
        # 32-bit parts read with numpy, joined into Python ints (most significant part first)
        bitpos = np.asarray(bitpos, dtype=np.int64)
        head = width % 32 or 32
        values = self._read_unsigned(bitpos, head).tolist()
        for start in range(head, width, 32):
            part = self._read_unsigned(bitpos + start, 32).tolist()
            values = [(v << 32) | p for v, p in zip(values, part, strict=True)]
        if signed:
            sign, full = 1 << (width - 1), 1 << width
            values = [v - full if v & sign else v for v in values]
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out


def _to_signed(value: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int64]:
    sign = np.int64(1) << np.int64(width - 1)
    return (value ^ sign) - sign
