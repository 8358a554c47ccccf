{
  description = "Lattice: one lattice.yaml for a whole opencode setup, built like Nix builds software";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs: rec {
        lattice = pkgs.python3Packages.buildPythonApplication {
          pname = "lattice";
          version = "0.1.0";
          pyproject = true;
          src = ./.;
          build-system = [ pkgs.python3Packages.setuptools ];
          dependencies = with pkgs.python3Packages; [
            click
            pyyaml
            jinja2
            cerberus
            platformdirs
            nodeenv
          ];
          # The environments Lattice builds run node and npm from PATH.
          makeWrapperArgs = [ "--prefix" "PATH" ":" (pkgs.lib.makeBinPath [ pkgs.nodejs ]) ];
          nativeCheckInputs = with pkgs.python3Packages; [ pytestCheckHook hypothesis pexpect ];
          # The end-to-end tests install opencode from npm: no network in the Nix sandbox.
          doCheck = false;
          meta.mainProgram = "lattice";
        };
        default = lattice;
      });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pkgs.python3.withPackages (ps: with ps; [
              click pyyaml jinja2 cerberus platformdirs nodeenv pytest hypothesis pexpect
            ]))
            pkgs.nodejs
            pkgs.zsh
            pkgs.fish
          ];
        };
      });
    };
}
