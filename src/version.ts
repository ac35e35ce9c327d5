// Versions: tsnix's own, and the Nix version whose behaviour it follows
// (reported by builtins.nixVersion and `--version`, as scripts check it):
// the language follows current Nix, whose test suite it passes.
export const TSNIX_VERSION = '0.1.0';
export const NIX_VERSION = '2.31.0';
