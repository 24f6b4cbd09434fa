"""biobank: a biobank platform for Taiwan (ISO 20387, biosafety, IRB, cell therapy, federation)."""
