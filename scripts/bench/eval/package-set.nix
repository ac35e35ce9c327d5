# A package collection in the style of nixpkgs: a fixpoint over a set of
# 10,000 packages built with callPackage, extended by overlays, each package
# a derivation depending on a few others. Forces every .drv path.
let
  fix = f: let x = f x; in x;
  extends = overlay: f: self: let super = f self; in super // overlay self super;
  composeOverlays = overlays: f: builtins.foldl' (acc: o: extends o acc) f overlays;
  callPackageWith = autoArgs: fn: args:
    let
      f = if builtins.isFunction fn then fn else import fn;
      fargs = builtins.functionArgs f;
    in f (builtins.intersectAttrs fargs autoArgs // args);

  n = 10000;
  mkPkg = i: { stdenv, dep1 ? null, dep2 ? null }:
    stdenv.mkDerivation {
      name = "pkg-${toString i}";
      deps = builtins.filter (d: d != null) [ dep1 dep2 ];
    };

  base = self: {
    stdenv = {
      mkDerivation = attrs: derivation ({
        system = "x86_64-linux";
        builder = "/bin/sh";
        args = [ "-c" "echo ${attrs.name} > $out" ];
        buildInputs = map (d: d.outPath) attrs.deps;
      } // builtins.removeAttrs attrs [ "deps" ]);
    };
  } // builtins.listToAttrs (builtins.genList (i: {
    name = "pkg${toString i}";
    value = self.callPackage (mkPkg i) (
      (if i > 0 then { dep1 = self."pkg${toString (i / 2)}"; } else { })
      // (if i > 1 then { dep2 = self."pkg${toString (i - 1)}"; } else { }));
  }) n) // {
    callPackage = callPackageWith self;
  };

  overlay1 = self: super: { pkg5 = super.pkg5 // { patched = true; }; extra1 = self.pkg10; };
  overlay2 = self: super: builtins.mapAttrs (name: v: v) { inherit (super) pkg7 pkg8; };
  overlay3 = self: super: { stdenv = super.stdenv // { extraFlag = 1; }; };

  pkgs = fix (composeOverlays [ overlay1 overlay2 overlay3 ] base);
in
builtins.length (builtins.filter (d: builtins.stringLength d > 0)
  (builtins.genList (i: pkgs."pkg${toString i}".drvPath) n))
