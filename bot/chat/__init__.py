"""What every chat platform shares: the live incident card kept in sync (``cards``), behind the small
contract a platform implements (``contract``), and the stores they share (``copies``, ``claims``)."""
