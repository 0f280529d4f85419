"""File transfer: rsync (local or over SSH) with atomic visibility at the destination."""
