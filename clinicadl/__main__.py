from clinicadl.cli.main import cli

cli(prog_name="clinicadl")
