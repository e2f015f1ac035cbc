export const Explore = () => (
  <main class="page explore">
    <input id="query-input" class="query" placeholder="Search" />
  </main>
)
