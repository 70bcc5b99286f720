"""The reference 371OS's own integration tests: a small cross-service check the reference profile runs as its
[hooks] integration command (what `bun nx test <app>` is for a real 371OS deployment)."""
