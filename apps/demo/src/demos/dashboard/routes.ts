/** A point on the demo's city map, in the SVG's units (the map is {@link MAP_WIDTH} × {@link MAP_HEIGHT}). */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** The map's size in SVG units. */
export const MAP_WIDTH = 600;
export const MAP_HEIGHT = 360;

/** Streets: x of the avenues and y of the streets, drawn by the page and driven along by the vans. */
export const AVENUES: readonly number[] = [60, 180, 300, 420, 540];
export const STREETS: readonly number[] = [60, 180, 300];

/** The depot every route starts from. */
export const DEPOT: Point = { x: 300, y: 180 };

/** Each van's loop of corners (closed: the last corner leads back to the first), along the streets. */
export const ROUTES: readonly (readonly Point[])[] = [
  [
    { x: 300, y: 180 },
    { x: 60, y: 180 },
    { x: 60, y: 60 },
    { x: 300, y: 60 },
  ],
  [
    { x: 300, y: 180 },
    { x: 540, y: 180 },
    { x: 540, y: 300 },
    { x: 300, y: 300 },
  ],
  [
    { x: 180, y: 60 },
    { x: 420, y: 60 },
    { x: 420, y: 300 },
    { x: 180, y: 300 },
  ],
  [
    { x: 60, y: 300 },
    { x: 60, y: 180 },
    { x: 180, y: 180 },
    { x: 180, y: 300 },
  ],
  [
    { x: 540, y: 60 },
    { x: 540, y: 180 },
    { x: 420, y: 180 },
    { x: 420, y: 60 },
  ],
];

const length = (a: Point, b: Point): number => Math.abs(a.x - b.x) + Math.abs(a.y - b.y);

/** The length of a closed route. */
export function routeLength(route: readonly Point[]): number {
  return route.reduce((sum, point, i) => sum + length(point, route[(i + 1) % route.length]!), 0);
}

/** Where a van is after driving `distance` along its closed `route` from the first corner. */
export function pointAlong(route: readonly Point[], distance: number): Point {
  const total = routeLength(route);
  let left = ((distance % total) + total) % total;
  for (let i = 0; i < route.length; i++) {
    const from = route[i]!;
    const to = route[(i + 1) % route.length]!;
    const leg = length(from, to);
    if (left <= leg) {
      const t = leg === 0 ? 0 : left / leg;
      return { x: Math.round(from.x + (to.x - from.x) * t), y: Math.round(from.y + (to.y - from.y) * t) };
    }
    left -= leg;
  }
  return route[0]!;
}
