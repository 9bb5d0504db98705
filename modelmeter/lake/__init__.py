"""lake/: past one machine. A Parquet lake of `calls` and `attempts` by day, local or `s3://`, with
daily rollups computed by DuckDB or Apache Spark (DESIGN.md, Scale).

    location.py  a lake's root (directory or s3://bucket/prefix) and its few file operations
    write.py     `ingest --lake`: ingest's own path into a scratch DuckDB, then one file per day
    read.py      views over the day partitions, one row per (trace_id, span_id)
    rollup.py    `modelmeter rollup`: the daily rollups, on DuckDB or Spark
    compact.py   `modelmeter lake compact`: a day's files into one
"""
