// Opens a published warehouse read-only with the Node DuckDB client and prints, as JSON, what a BI
// tool sees: the client's version, each marts table's row count and each column's comment.
// Usage: node read_warehouse.mjs path/to/vob.duckdb
import { DuckDBInstance } from '@duckdb/node-api';

const path = process.argv[2];
if (!path) {
  console.error('usage: node read_warehouse.mjs WAREHOUSE.duckdb');
  process.exit(2);
}
const instance = await DuckDBInstance.create(path, {
  access_mode: 'READ_ONLY',
  autoinstall_known_extensions: 'false', // nothing to download: the closed network would hang
  autoload_known_extensions: 'false',
});
const con = await instance.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();

const version = (await rows('SELECT version() AS v'))[0].v;
const tables = {};
for (const { table_name } of await rows(
  "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY table_name")) {
  const [{ n }] = await rows(`SELECT count(*) AS n FROM marts."${table_name}"`);
  tables[table_name] = { rows: Number(n), columns: {} };
}
for (const { table_name, column_name, comment } of await rows(
  "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts' " +
  'ORDER BY table_name, column_index')) {
  tables[table_name].columns[column_name] = comment;
}
con.closeSync();
instance.closeSync();
console.log(JSON.stringify({ version, tables }));
