"""What every layer of kinevo shares: config plumbing (`kinevo.config`) and the gene table
(`kinevo.genes`). It imports nothing from world/, kinship/ or evo/, so all of them can import it."""
