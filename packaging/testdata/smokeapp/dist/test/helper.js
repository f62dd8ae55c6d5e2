'use strict';
exports.helper = () => 'helper-ok';
