'use strict';
// A unit test the build left in dist/test: never required at run time.
require('./helper');
