import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// A service imports libs only, never another service: services talk through their APIs (gRPC or in process).
const SERVICES = ['gateway', 'campaigns', 'ingestion', 'strategies', 'scheduler', 'dispatch'];

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '.nx/**', '.herald/**', 'services/strategies/python/**', 'tools/*.mjs', 'tools/*.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      '@nx/enforce-module-boundaries': ['error', boundaries()],
    },
  },
  // Tests of any project may use the testing library.
  {
    files: ['**/*.spec.ts', '**/e2e/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', boundaries({ tests: true })] },
  },
  // The embedded mode's composition root: the one file that puts every service in one process.
  {
    files: ['services/gateway/src/main.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', boundaries({ allow: SERVICES.map((s) => `@herald/${s}`) })] },
  },
];

function boundaries({ tests = false, allow = [] } = {}) {
  const extra = tests ? ['type:testing'] : [];
  const service = ['type:contracts', 'type:lib', 'type:domain', ...extra];
  return {
    allow,
    depConstraints: [
      { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: tests ? ['type:testing'] : [] },
      { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:contracts', ...extra] },
      { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:contracts', 'type:lib', 'type:domain', ...extra] },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:lib', 'type:testing'] },
      ...SERVICES.map((s) => ({ sourceTag: `scope:${s}`, onlyDependOnLibsWithTags: service })),
    ],
  };
}
