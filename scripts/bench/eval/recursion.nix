# Function calls and thunks: naive fibonacci, deep lazy chains, a fixpoint of 20,000 mutually referring attributes.
let
  fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2);
  chain = builtins.foldl' (acc: i: acc + i) 0 (builtins.genList (i: i) 100000);
  self = builtins.listToAttrs (builtins.genList (i: {
    name = "v${toString i}";
    value = if i == 0 then 1 else self."v${toString (i - 1)}" + 1;
  }) 20000);
in
[ (fib 25) chain self.v19999 ]
