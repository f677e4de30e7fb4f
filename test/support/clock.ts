/** A clock the test moves by hand; it starts at the real time because the database stamps rows with now(). */
export function fakeClock(): { now: () => Date; advance(ms: number): void } {
  let at = Date.now();
  return {
    now: () => new Date(at),
    advance(ms) {
      at += ms;
    },
  };
}
