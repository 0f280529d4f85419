"""The FITS layer shared by LB and products (no import of either).

* :mod:`stix_lib.fits.cards` — header card images and FITS checksums;
* :mod:`stix_lib.fits.writer` — fast primary/binary-table serialisation with checksums;
* :mod:`stix_lib.fits.reader` — fast header and fixed-size binary-table reading;
* :mod:`stix_lib.fits.lock` — folder locks for read-merge-write.

Dependencies run one way: ``tm -> decode -> lb -> products``, all of them above this package.
"""
