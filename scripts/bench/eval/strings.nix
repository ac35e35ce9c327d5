# String building: interpolation in loops, concatStringsSep, replaceStrings, substring, toJSON/fromJSON, split, match.
let
  n = 50000;
  words = builtins.genList (i: "word${toString i}") n;
  joined = builtins.concatStringsSep " " words;
  replaced = builtins.replaceStrings [ "word" "1" ] [ "w" "one" ] joined;
  built = builtins.foldl' (acc: w: acc + builtins.substring 0 2 w) "" (builtins.genList (i: "x${toString i}") 20000);
  json = builtins.toJSON (builtins.genList (i: { id = i; name = "n${toString i}"; tags = [ "a" "b" ]; }) 20000);
  back = builtins.fromJSON json;
  parts = builtins.split "[0-9]+" (builtins.substring 0 200000 joined);
  matched = builtins.length (builtins.filter (w: builtins.match "word[0-9]*7" w != null) words);
in
[ (builtins.stringLength replaced) (builtins.stringLength built) (builtins.length back) (builtins.length parts) matched ]
