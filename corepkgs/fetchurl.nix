# tsnix: <nix/fetchurl.nix>, a fixed-output download done by the
# `builtin:fetchurl` builder inside tsnix. The attributes given to
# `derivation` are the ones Nix's own file gives (names and values), so the
# derivation — and therefore its output path — is the same as with Nix.
{ system ? ""   # accepted for compatibility; the builder is not a program
, url
, hash ? ""     # SRI form, e.g. "sha256-..."
, md5 ? "", sha1 ? "", sha256 ? "", sha512 ? ""
, outputHash ?
    if hash != "" then hash
    else if sha512 != "" then sha512
    else if sha1 != "" then sha1
    else if md5 != "" then md5
    else sha256
, outputHashAlgo ?
    if hash != "" then ""
    else if sha512 != "" then "sha512"
    else if sha1 != "" then "sha1"
    else if md5 != "" then "md5"
    else "sha256"
, executable ? false
, unpack ? false
, name ? baseNameOf (toString url)
}:

derivation {
  builder = "builtin:fetchurl";
  inherit outputHashAlgo outputHash;
  # An executable file or an unpacked tree is hashed as a NAR.
  outputHashMode = if unpack || executable then "recursive" else "flat";
  inherit name url executable unpack;
  system = "builtin";
  preferLocalBuild = true;
  # Proxy settings come from the caller's environment; the hash keeps it pure.
  impureEnvVars = [ "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy" ];
  # For nix-prefetch-url.
  urls = [ url ];
}
