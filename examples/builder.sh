# The generic builder of the example package set: runs the derivation's
# `buildCommand` with the shell's errexit on (`sh -e`).
eval "$buildCommand"
