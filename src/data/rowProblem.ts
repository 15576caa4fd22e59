/** A row the sink refuses (a label outside the allowed classes); parsers add where it is. */
export class RowProblem extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}
