import { fitConstraintsSuite } from './fit-constraints.suite.js';

fitConstraintsSuite('cpu');
