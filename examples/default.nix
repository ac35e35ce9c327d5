# A small package set that builds with no network, using the host's own
# compiler and shell inside the build sandbox (see README.md).
#
#   bin/nix-build examples -A hello && ./result/bin/hello
{ system ? builtins.currentSystem }:

let
  # The host directories the builders need: /bin/sh, the C compiler and its
  # libraries. `__impureHostDeps` lists them per derivation; tsnix binds them
  # read-only into the sandbox when they are under `allowed-impure-host-deps`
  # (by default the system's program and library directories).
  hostToolchain = [ "/bin" "/usr" "/lib" "/lib64" "/etc/alternatives" ];

  mkDerivation = attrs: derivation ({
    inherit system;
    builder = "/bin/sh";
    args = [ "-e" ./builder.sh ];
    PATH = "/usr/bin:/bin";
    __impureHostDeps = hostToolchain;
  } // attrs);

  # A chain of packages, each built from the previous one.
  chainLink = n: prev: mkDerivation {
    name = "chain-${toString n}";
    inherit prev;
    buildCommand = ''
      { if [ -n "$prev" ]; then cat "$prev"; fi; echo "link ${toString n}"; } > $out
    '';
  };

in rec {
  hello = mkDerivation {
    name = "hello-1.0";
    src = ./hello/hello.c;
    buildCommand = ''
      mkdir -p $out/bin
      cc -O2 -o $out/bin/hello $src
    '';
  };

  # A library with three outputs: the archive (out), its header (dev) and a
  # program using it (bin). `nix-build -A greet.dev -A greet.bin` links
  # result-dev and result-bin.
  greet = mkDerivation {
    name = "greet-1.0";
    outputs = [ "out" "dev" "bin" ];
    src = ./greet;
    buildCommand = ''
      mkdir -p $out/lib $dev/include $bin/bin
      cp $src/greet.h $dev/include/
      cc -O2 -c -I$src -o greet.o $src/greet.c
      ar rcs $out/lib/libgreet.a greet.o
      cc -O2 -I$dev/include -o $bin/bin/greet $src/main.c $out/lib/libgreet.a
    '';
  };

  # Uses greet's header and library from its dev and out outputs.
  greeter = mkDerivation {
    name = "greeter-1.0";
    greetDev = greet.dev;
    greetLib = greet.out;
    src = ./greet/main.c;
    buildCommand = ''
      mkdir -p $out/bin
      cc -O2 -I$greetDev/include -o $out/bin/greeter $src $greetLib/lib/libgreet.a
    '';
  };

  chain1 = chainLink 1 null;
  chain2 = chainLink 2 chain1;
  chain3 = chainLink 3 chain2;
  chain = chain3;
}
