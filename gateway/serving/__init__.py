"""The serving processes: granian workers, the mutual-TLS server, and the jobs the parent runs."""
